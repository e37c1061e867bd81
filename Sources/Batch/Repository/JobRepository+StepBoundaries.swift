import Foundation

/// What ``JobRepository/startStep(_:)`` does at the start of a step execution.
public struct StepStart: Sendable {
    /// A change to the job execution to store first — STARTED before the first step, or the job context — or nil.
    public var jobExecution: JobExecution?
    /// The job execution the step execution belongs to.
    public var jobExecutionId: Int64
    /// The job execution's instance, whose earlier step executions decide whether and from where the step runs.
    public var instanceId: Int64
    /// The step execution's name.
    public var stepName: String
    /// The status the new step execution is created with: STARTED when no listener runs before the step's work,
    /// else STARTING (the engine stores STARTED after the listeners).
    public var status: BatchStatus
    /// The step execution's start time.
    public var startTime: Date
    /// Whether a step an earlier execution of the instance completed runs again (from an empty context).
    public var runsAgainIfComplete: Bool

    /// Creates a step start.
    public init(
        jobExecution: JobExecution?, jobExecutionId: Int64, instanceId: Int64, stepName: String,
        status: BatchStatus, startTime: Date, runsAgainIfComplete: Bool
    ) {
        self.jobExecution = jobExecution
        self.jobExecutionId = jobExecutionId
        self.instanceId = instanceId
        self.stepName = stepName
        self.status = status
        self.startTime = startTime
        self.runsAgainIfComplete = runsAgainIfComplete
    }
}

/// What ``JobRepository/startStep(_:)`` stored and read.
public struct StepStartResult: Sendable {
    /// The stored job execution, when the start carried a change to it.
    public var jobExecution: JobExecution?
    /// The job execution's status and version after that change. Unless it is STARTING or STARTED (a stop was
    /// requested, or someone else ended the execution), no step execution was created.
    public var jobStatus: ExecutionStatusSnapshot
    /// The step's most recent execution in the instance before this one, if any.
    public var previous: StepExecution?
    /// The new step execution, its context the previous one's (empty when that one completed); nil when the job is
    /// not running or the step completed earlier and does not run again.
    public var created: StepExecution?

    /// Creates a result.
    public init(
        jobExecution: JobExecution?, jobStatus: ExecutionStatusSnapshot, previous: StepExecution?,
        created: StepExecution?
    ) {
        self.jobExecution = jobExecution
        self.jobStatus = jobStatus
        self.previous = previous
        self.created = created
    }
}

/// What ``JobRepository/endStep(_:jobExecution:)`` stored.
public struct StepEndResult: Sendable {
    /// The stored step execution.
    public var stepExecution: StepExecution
    /// The stored job execution, or nil when it was not stored.
    public var jobExecution: JobExecution?

    /// Creates a result.
    public init(stepExecution: StepExecution, jobExecution: JobExecution?) {
        self.stepExecution = stepExecution
        self.jobExecution = jobExecution
    }
}

extension JobRepository {
    /// Composes ``updateJobExecution(_:)``, ``jobExecutionStatus(id:)``, ``lastStepExecution(instanceId:stepName:)``
    /// and ``createStepExecution(_:)``, in that order.
    public func startStep(_ start: StepStart) async throws -> StepStartResult {
        var stored: JobExecution?
        if let change = start.jobExecution { stored = try await updateJobExecution(change) }
        guard let status = try await jobExecutionStatus(id: start.jobExecutionId) else {
            throw BatchError(.executionNotFound, "no job execution \(start.jobExecutionId)")
        }
        var result = StepStartResult(jobExecution: stored, jobStatus: status, previous: nil, created: nil)
        guard status.status == .starting || status.status == .started else { return result }
        result.previous = try await lastStepExecution(instanceId: start.instanceId, stepName: start.stepName)
        if result.previous?.status == .completed, !start.runsAgainIfComplete { return result }
        let context = result.previous.map { $0.status == .completed ? ExecutionContext() : $0.context }
        result.created = try await createStepExecution(
            StepExecution(
                jobExecutionId: start.jobExecutionId, stepName: start.stepName, status: start.status,
                startTime: start.startTime, lastUpdated: start.startTime, context: context ?? ExecutionContext()))
        return result
    }

    /// Composes ``updateStepExecution(_:)`` and ``updateJobExecution(_:)``; a job execution that cannot be stored
    /// is returned as nil.
    public func endStep(_ stepExecution: StepExecution, jobExecution: JobExecution) async throws -> StepEndResult {
        let step = try await updateStepExecution(stepExecution)
        return StepEndResult(stepExecution: step, jobExecution: try? await updateJobExecution(jobExecution))
    }
}
