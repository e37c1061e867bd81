import Foundation
import Logging
import Synchronization

/// Starts, stops, restarts and abandons job executions, and answers questions about them: the seed's operations,
/// with exactly the rules of ``StartRules``.
///
/// ```swift
/// let jobOperator = JobOperator(registry: try JobRegistry([dailyAccounting]), repository: InMemoryJobRepository())
/// let execution = try await jobOperator.start("daily-accounting", params: #"{"date":"2026-11-25"}"#)
/// let id = try await jobOperator.startAsync("daily-accounting", params: #"{"date":"2026-11-26"}"#)
/// try await jobOperator.stop(.executionId(id))
/// try await jobOperator.restart("daily-accounting")
/// ```
/// Jobs started here run in this process, as tasks; ``wait(for:pollInterval:)`` awaits one.
public final class JobOperator: Sendable {
    /// The jobs this operator may run.
    public let registry: JobRegistry
    /// Where executions are stored.
    public let repository: any JobRepository
    /// The worker recorded on the executions this operator runs, if any.
    public let workerId: String?
    /// Told of every job execution status change this operator makes.
    public let observer: (any JobExecutionObserver)?
    /// How long a finished step or job keeps trying to store its outcome while the store is unreachable, before
    /// the job tries to record UNKNOWN.
    public let outcomeRetryDeadline: Duration
    /// The application resources every job of this operator reaches (a job's own registrations win).
    public let resources: JobResources
    /// Where remote partition steps send their partitions; nil: they run in this process.
    public let partitionDispatcher: (any RemotePartitionDispatcher)?
    /// Where the metrics, spans and progress of this operator's jobs go.
    public let observability: BatchObservability
    let logger: Logger
    private let running = Mutex<[Int64: RunningExecution]>([:])
    /// The remote partitions running here: job execution id → step execution id → stop signal.
    let partitionRuns = Mutex<[Int64: [Int64: StopSignal]]>([:])

    private struct RunningExecution {
        let task: Task<JobExecution, Never>
        let run: JobRun
    }

    /// Creates an operator.
    /// - Parameters:
    ///   - registry: the jobs it may run.
    ///   - repository: where executions are stored.
    ///   - workerId: the worker to record on executions it runs.
    ///   - observer: told of every job execution status change this operator makes (stored first).
    ///   - outcomeRetryDeadline: how long to keep trying to store an outcome while the store is unreachable
    ///     (default 10 minutes; if the process dies meanwhile, the lost-worker sweep records FAILED).
    ///   - resources: application resources for the steps of every job (see ``ResourceKey``).
    ///   - logger: the logger for the engine's messages.
    ///   - observability: where metrics, spans and progress go (default: the process's metrics factory and
    ///     tracer; see ``BatchObservability``).
    ///   - partitionDispatcher: where remote partition steps send their partitions (a worker's fleet); without one
    ///     they run in this process.
    public init(
        registry: JobRegistry, repository: any JobRepository, workerId: String? = nil,
        observer: (any JobExecutionObserver)? = nil, outcomeRetryDeadline: Duration = .seconds(600),
        resources: JobResources = JobResources(), logger: Logger = Logger(label: "swift-batch"),
        observability: BatchObservability = .global,
        partitionDispatcher: (any RemotePartitionDispatcher)? = nil
    ) {
        self.observability = observability
        self.partitionDispatcher = partitionDispatcher
        self.resources = resources
        self.outcomeRetryDeadline = outcomeRetryDeadline
        self.registry = registry
        self.repository = repository
        self.workerId = workerId
        self.observer = observer
        var logger = logger
        if let workerId { logger[metadataKey: "worker.id"] = "\(workerId)" }
        self.logger = logger
    }

    // MARK: Start

    /// Starts a job and waits for the execution to end.
    /// - Returns: the ended execution (COMPLETED, FAILED, STOPPED, ...).
    /// - Throws: what ``startAsync(_:parameters:)`` throws.
    public func start(_ jobName: String, parameters: JobParameters = JobParameters()) async throws -> JobExecution {
        try await wait(for: startAsync(jobName, parameters: parameters))
    }

    /// Starts a job with parameters given as JSON text (GoBatch's form) and waits for the end.
    public func start(_ jobName: String, params: String) async throws -> JobExecution {
        try await start(jobName, parameters: JobParameters(json: params))
    }

    /// Starts a job and returns as soon as its execution is stored; the job runs on in this process.
    /// - Parameters:
    ///   - jobName: the job.
    ///   - parameters: its parameters.
    ///   - newInstanceOnly: refuse the start when the instance has any execution at all, even a FAILED or STOPPED
    ///     one (a scheduled slot's start, which must run once however often it is delivered).
    /// - Returns: the new execution's id.
    /// - Throws: ``BatchError`` — ``BatchError/Code/jobNotFound``, ``BatchError/Code/invalidParameters``,
    ///   ``BatchError/Code/alreadyRunning``, ``BatchError/Code/alreadyComplete``, ``BatchError/Code/abandoned``,
    ///   ``BatchError/Code/endedAbnormally``, ``BatchError/Code/instanceExists``. Nothing is stored when the job or
    ///   its parameters are refused.
    public func startAsync(
        _ jobName: String, parameters: JobParameters = JobParameters(), newInstanceOnly: Bool = false
    ) async throws -> Int64 {
        let job = try registry.job(named: jobName)
        try parameters.validate()  // what no store can hold (NUL, non-finite numbers), however the parameters were made
        try job.validate(parameters)
        let launched = try await repository.launch(
            JobLaunch(
                jobName: job.name, jobKey: job.identifyingParameters(parameters).instanceKey, parameters: parameters,
                workerId: workerId, newInstanceOnly: newInstanceOnly, firstStep: JobRunner.firstStep(of: job)))
        launch(job, launched)
        return launched.execution.id
    }

    /// Starts a job with parameters given as JSON text and returns its execution id at once.
    public func startAsync(_ jobName: String, params: String) async throws -> Int64 {
        try await startAsync(jobName, parameters: JobParameters(json: params))
    }

    // MARK: Restart

    /// Restarts a STOPPED or FAILED execution and waits for the new one to end.
    /// - Parameter target: a job name (the last execution of its most recent instance) or an execution id (that
    ///   execution's instance and its last execution).
    public func restart(_ target: JobReference) async throws -> JobExecution {
        try await wait(for: restartAsync(target))
    }

    /// Restarts a STOPPED or FAILED execution with the same parameters, as a new execution that skips completed
    /// steps and resumes the others from their saved contexts; returns the new execution's id at once.
    /// - Throws: ``BatchError/Code/notRestartable`` unless the last execution is STOPPED or FAILED;
    ///   ``BatchError/Code/alreadyRunning`` while remote partitions of it still run on workers;
    ///   ``BatchError/Code/executionNotFound``; ``BatchError/Code/jobNotFound``.
    public func restartAsync(_ target: JobReference) async throws -> Int64 {
        let last = try await lastExecution(of: target)
        guard last.status.isRestartable else {
            throw BatchError(
                .notRestartable,
                "execution \(last.id) of job '\(last.jobName)' is \(last.status.rawValue); only a STOPPED or FAILED "
                    + "execution can be restarted\(Self.advice(for: last.status))")
        }
        let job = try registry.job(named: last.jobName)
        guard let instance = try await repository.jobInstance(id: last.instanceId) else {
            throw BatchError(.executionNotFound, "the instance of execution \(last.id) no longer exists")
        }
        let launched = try await repository.launch(
            JobLaunch(
                jobName: job.name, jobKey: instance.jobKey, parameters: last.parameters, workerId: workerId,
                firstStep: JobRunner.firstStep(of: job)))
        logger.info(
            "restarting", metadata: ["job.name": "\(job.name)", "previous.execution.id": "\(last.id)"])
        launch(job, launched)
        return launched.execution.id
    }

    private static func advice(for status: BatchStatus) -> String {
        switch status {
        case .starting, .started, .stopping: " (it is still running; stop it first)"
        case .completed: " (it completed; a new run needs new identifying parameters)"
        case .unknown: " (it ended abnormally; abandon it)"
        case .abandoned: " (it was abandoned and is never run again)"
        case .stopped, .failed: ""
        }
    }

    // MARK: Stop

    /// Asks an execution to stop: writes STOPPING; the running step sees it at its next chunk boundary (a tasklet
    /// when it checks), ends STOPPED, and the job ends STOPPED (restartable).
    ///
    /// - Parameter target: a job name — its most recent instance's last execution, which must be STARTING or
    ///   STARTED (or already STOPPING) — or an execution id, in any status: one that has already ended is
    ///   returned unchanged, without error.
    /// - Returns: the execution as stored after the request.
    /// - Throws: ``BatchError/Code/notRunning`` when a job name has nothing running;
    ///   ``BatchError/Code/executionNotFound``.
    @discardableResult
    public func stop(_ target: JobReference) async throws -> JobExecution {
        var execution: JobExecution
        switch target {
        case .name(let name):
            execution = try await lastExecution(of: target)
            guard execution.status.isRunning else {
                throw BatchError(
                    .notRunning,
                    "job '\(name)' is not running: its last execution \(execution.id) is \(execution.status.rawValue)")
            }
        case .executionId(let id):
            guard let found = try await repository.jobExecution(id: id) else {
                throw BatchError(.executionNotFound, "no job execution \(id)")
            }
            execution = found
        }
        for _ in 0..<5 {
            guard execution.status == .starting || execution.status == .started else { break }
            var stopping = execution
            stopping.status = .stopping
            do {
                execution = try await repository.updateJobExecution(stopping)
                logger.info("stop requested", metadata: ["job.execution.id": "\(execution.id)"])
                if let run = running.withLock({ $0[stopping.id]?.run }) {
                    await run.report(execution)  // the run reports each status once
                } else {
                    await observer?.jobExecutionChanged(execution)
                }
            } catch let error as BatchError where error.code == .optimisticLock {
                guard let reloaded = try await repository.jobExecution(id: execution.id) else { throw error }
                execution = reloaded
            }
        }
        requestLocalStop(executionId: execution.id)
        return execution
    }

    /// Tells the execution, if it runs in this process, that a stop was requested — without touching the
    /// repository. A worker calls this when a stop reaches it over the control exchange.
    /// - Returns: whether the execution runs here.
    @discardableResult
    public func requestLocalStop(executionId: Int64) -> Bool {
        let partitions = partitionRuns.withLock { $0[executionId].map { Array($0.values) } ?? [] }
        for signal in partitions { signal.request() }
        guard let signal = running.withLock({ $0[executionId]?.run.stopSignal }) else { return !partitions.isEmpty }
        signal.request()
        return true
    }

    // MARK: Abandon

    /// Marks a STOPPED, FAILED or UNKNOWN execution ABANDONED: its instance is never run again. Only the instance's
    /// last execution can be abandoned (the start rules look at it).
    /// - Returns: the abandoned execution (unchanged if it already was).
    /// - Throws: ``BatchError/Code/cannotAbandon`` for any other status or an execution that is not its instance's
    ///   last; ``BatchError/Code/executionNotFound``.
    @discardableResult
    public func abandon(executionId: Int64) async throws -> JobExecution {
        guard var execution = try await repository.jobExecution(id: executionId) else {
            throw BatchError(.executionNotFound, "no job execution \(executionId)")
        }
        switch execution.status {
        case .abandoned:
            return execution
        case .stopped, .failed, .unknown:
            execution.status = .abandoned
            execution.exitCode = BatchStatus.abandoned.rawValue
            execution.endTime = execution.endTime ?? Date()
            let stored = try await repository.abandonJobExecution(execution)
            logger.info("execution abandoned", metadata: ["job.execution.id": "\(executionId)"])
            await observer?.jobExecutionChanged(stored)
            return stored
        default:
            throw BatchError(
                .cannotAbandon,
                "execution \(executionId) is \(execution.status.rawValue); only a STOPPED, FAILED or UNKNOWN "
                    + "execution can be abandoned\(Self.advice(for: execution.status))")
        }
    }

    // MARK: Queries

    /// Executions newest first, of one job or of all.
    public func executions(jobName: String? = nil, limit: Int = 50) async throws -> [JobExecution] {
        try await repository.jobExecutions(jobName: jobName, limit: limit)
    }

    /// One execution with its instance and steps.
    /// - Throws: ``BatchError/Code/executionNotFound``.
    public func execution(_ id: Int64) async throws -> JobExecutionDetail {
        guard let execution = try await repository.jobExecution(id: id) else {
            throw BatchError(.executionNotFound, "no job execution \(id)")
        }
        guard let instance = try await repository.jobInstance(id: execution.instanceId) else {
            throw BatchError(.executionNotFound, "the instance of execution \(id) no longer exists")
        }
        return JobExecutionDetail(
            execution: execution, instance: instance, steps: try await repository.stepExecutions(jobExecutionId: id))
    }

    /// Waits for an execution to end: at once for one running in this process, by polling the repository
    /// otherwise.
    /// - Parameters:
    ///   - executionId: the execution to wait for.
    ///   - pollInterval: how often to look at an execution running elsewhere.
    /// - Returns: the ended execution.
    public func wait(for executionId: Int64, pollInterval: Duration = .milliseconds(200)) async throws -> JobExecution {
        if let task = running.withLock({ $0[executionId]?.task }) {
            return await task.value
        }
        while true {
            guard let execution = try await repository.jobExecution(id: executionId) else {
                throw BatchError(.executionNotFound, "no job execution \(executionId)")
            }
            if execution.status.isFinished { return execution }
            if let task = running.withLock({ $0[executionId]?.task }) { return await task.value }
            try await Task.sleep(for: pollInterval)
        }
    }

    /// The ids of the executions running in this process.
    public var runningExecutionIds: [Int64] { running.withLock { $0.keys.sorted() } }

    /// Waits until no execution runs in this process.
    public func waitForRunningExecutions() async {
        for task in running.withLock({ $0.values.map(\.task) }) { _ = await task.value }
    }

    // MARK: Resources

    /// Releases the resources the factories of this operator and of its jobs made (``JobResources/close()``):
    /// call it when the process is done running jobs, after ``waitForRunningExecutions()``. A job's resources are
    /// shared by every operator holding the job.
    public func closeResources() async {
        await resources.close()
        for name in registry.names {
            await (try? registry.job(named: name))?.resources.close()
        }
    }

    // MARK: Internals

    /// The execution `stop` and `restart` act on: by job name, the last execution of its most recent instance; by
    /// execution id, the last execution of that execution's instance.
    /// - Throws: ``BatchError/Code/executionNotFound``.
    public func lastExecution(of target: JobReference) async throws -> JobExecution {
        switch target {
        case .name(let name):
            guard let instance = try await repository.lastJobInstance(jobName: name),
                let last = try await repository.lastJobExecution(instanceId: instance.id)
            else {
                throw BatchError(.executionNotFound, "job '\(name)' has no executions")
            }
            return last
        case .executionId(let id):
            guard let execution = try await repository.jobExecution(id: id) else {
                throw BatchError(.executionNotFound, "no job execution \(id)")
            }
            return try await repository.lastJobExecution(instanceId: execution.instanceId) ?? execution
        }
    }

    /// Runs a launched execution in a task of its own: reports it as created (STARTING), then runs its steps,
    /// from the first step's start when the launch stored it.
    private func launch(_ job: Job, _ launched: JobLaunchResult) {
        let execution = launched.created
        var logger = self.logger
        logger[metadataKey: "job.name"] = "\(job.name)"
        logger[metadataKey: "job.execution.id"] = "\(execution.id)"
        logger[metadataKey: "job.instance.id"] = "\(execution.instanceId)"
        let run = JobRun(
            execution: execution, job: job, repository: repository, stopSignal: StopSignal(), observer: observer,
            outcomeRetryDeadline: outcomeRetryDeadline, resources: resources.overlaid(with: job.resources),
            logger: logger, observability: observability, dispatcher: partitionDispatcher)
        running.withLock { running in
            let task = Task {
                await run.report(execution)
                let result = await JobRunner.run(run, launched: launched.firstStep)
                _ = self.running.withLock { $0.removeValue(forKey: execution.id) }
                return result
            }
            running[execution.id] = RunningExecution(task: task, run: run)
        }
    }
}
