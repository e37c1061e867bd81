import Foundation

/// What ``JobRepository/launch(_:)`` does: the new execution of an instance, and, when nothing runs between the
/// launch and the job's first step (no job listeners), that step's start in the same transaction.
public struct JobLaunch: Sendable {
    /// The job's name.
    public var jobName: String
    /// The instance key of the identifying parameters (``JobParameters/instanceKey``).
    public var jobKey: String
    /// All parameters of the run.
    public var parameters: JobParameters
    /// The worker that will run the execution, if any.
    public var workerId: String?
    /// Refuse when the instance has any execution at all (see
    /// ``JobRepository/createJobExecution(jobName:jobKey:parameters:workerId:newInstanceOnly:)``).
    public var newInstanceOnly: Bool
    /// The first step's start, stored with the launch: the execution is created STARTED (its start time the
    /// step's) and the step's execution with it, by ``JobRepository/startStep(_:)``'s rules. Nil: the execution is
    /// created STARTING, and the engine stores the rest itself.
    public var firstStep: FirstStep?

    /// The first step's part of a launch: ``StepStart`` without the job execution, which does not exist yet.
    public struct FirstStep: Sendable {
        /// The step's name.
        public var stepName: String
        /// The status the step execution is created with (STARTED, or STARTING when step listeners run first).
        public var status: BatchStatus
        /// The step execution's start time, and the job execution's.
        public var startTime: Date
        /// Whether a step an earlier execution of the instance completed runs again.
        public var runsAgainIfComplete: Bool

        /// Creates a first step's start.
        public init(stepName: String, status: BatchStatus, startTime: Date, runsAgainIfComplete: Bool) {
            self.stepName = stepName
            self.status = status
            self.startTime = startTime
            self.runsAgainIfComplete = runsAgainIfComplete
        }
    }

    /// Creates a launch.
    public init(
        jobName: String, jobKey: String, parameters: JobParameters, workerId: String?, newInstanceOnly: Bool = false,
        firstStep: FirstStep? = nil
    ) {
        self.jobName = jobName
        self.jobKey = jobKey
        self.parameters = parameters
        self.workerId = workerId
        self.newInstanceOnly = newInstanceOnly
        self.firstStep = firstStep
    }
}

/// What ``JobRepository/launch(_:)`` stored.
public struct JobLaunchResult: Sendable {
    /// The new execution as stored: STARTING, or STARTED (version 1) when its first step started with it.
    public var execution: JobExecution
    /// The first step's start, when the store did it with the launch (``StepStartResult/jobExecution`` is the
    /// STARTED execution); nil when the engine must store STARTED and start the step itself.
    public var firstStep: StepStartResult?

    /// Creates a result.
    public init(execution: JobExecution, firstStep: StepStartResult?) {
        self.execution = execution
        self.firstStep = firstStep
    }

    /// The execution as it was when created, before it became STARTED: what the engine reports first, so that
    /// observers see STARTING, STARTED, … whichever way it was stored.
    public var created: JobExecution {
        guard firstStep != nil, execution.status == .started else { return execution }
        var created = execution
        created.status = .starting
        created.startTime = nil
        created.lastUpdated = execution.createTime
        created.version = execution.version - 1
        return created
    }
}

extension JobRepository {
    /// Creates the execution STARTING
    /// (``createJobExecution(jobName:jobKey:parameters:workerId:newInstanceOnly:)``) and leaves the first step to
    /// the engine.
    public func launch(_ launch: JobLaunch) async throws -> JobLaunchResult {
        JobLaunchResult(
            execution: try await createJobExecution(
                jobName: launch.jobName, jobKey: launch.jobKey, parameters: launch.parameters,
                workerId: launch.workerId, newInstanceOnly: launch.newInstanceOnly),
            firstStep: nil)
    }
}
