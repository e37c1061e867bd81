import Foundation
import Logging
import Synchronization

/// What a running step sees: the job parameters, the job's and the step's execution contexts, whether a stop was
/// requested, and a logger carrying the execution ids.
///
/// Given to tasklets, to reader and writer factories, to processors, partitioners and chunk listeners. Changes to ``stepContext`` are saved
/// with the next chunk commit (and when a tasklet step ends); changes to ``jobContext`` when the step ends.
public final class StepContext: Sendable {
    /// The job parameters, shared by all steps.
    public let parameters: JobParameters
    /// The job's name.
    public let jobName: String
    /// The id of the running job execution.
    public let jobExecutionId: Int64
    /// The id of the job instance.
    public let jobInstanceId: Int64
    /// The step's name (`"<step>:<partition>"` in a partition).
    public let stepName: String
    /// The id of this step execution.
    public let stepExecutionId: Int64
    /// The partition's name when the step runs as a partition, otherwise nil.
    public let partitionName: String?
    /// A logger with `job.name`, `job.execution.id` and `step.name` in its metadata.
    public let logger: Logger

    /// The application resources this step reaches (the operator's, with the job's laid over them): read them
    /// with ``resource(_:)``.
    public let resources: JobResources
    /// The job repository, for the stop check: application data is reached through ``resources``.
    let repository: any JobRepository
    let stopSignal: StopSignal
    private let contexts: Mutex<(step: ExecutionContext, job: JobContextBox)>

    init(
        job: JobExecution, stepExecution: StepExecution, partitionName: String?, jobContext: JobContextBox,
        repository: any JobRepository, resources: JobResources, stopSignal: StopSignal, logger: Logger
    ) {
        self.resources = resources
        self.parameters = job.parameters
        self.jobName = job.jobName
        self.jobExecutionId = job.id
        self.jobInstanceId = job.instanceId
        self.stepName = stepExecution.stepName
        self.stepExecutionId = stepExecution.id
        self.partitionName = partitionName
        self.repository = repository
        self.stopSignal = stopSignal
        var logger = logger
        logger[metadataKey: "step.name"] = "\(stepExecution.stepName)"
        logger[metadataKey: "step.execution.id"] = "\(stepExecution.id)"
        self.logger = logger
        self.contexts = Mutex((stepExecution.context, jobContext))
    }

    /// The step's execution context: restored on restart, saved at every chunk commit.
    public var stepContext: ExecutionContext {
        get { contexts.withLock { $0.step } }
        set { contexts.withLock { $0.step = newValue } }
    }

    /// The job's execution context, shared by the steps of this execution and carried over to a restart.
    ///
    /// `jobContext[key] = value` reads the whole context, then writes it back: partitions running at once should
    /// change it through ``updateJobContext(_:)`` instead, or one's change may be lost. A remote partition's
    /// changes stay on its worker: only the manager's process stores the job context.
    public var jobContext: ExecutionContext {
        get { contexts.withLock { $0.job }.value }
        set { contexts.withLock { $0.job }.value = newValue }
    }

    /// Changes the job's execution context in one step, so that partitions running at once, each changing its own
    /// keys, lose none of their changes. `body` runs under the context's lock: it must not read or change this
    /// context itself (``jobContext`` or another call), which would wait for ever.
    public func updateJobContext(_ body: (inout ExecutionContext) -> Void) {
        contexts.withLock { $0.job }.update(body)
    }

    /// The job parameters decoded as `type` (the job's typed parameters, see ``Job/init(_:parameters:steps:)``).
    /// - Throws: ``BatchError/Code/invalidParameters`` naming the parameter at fault.
    public func parameters<Parameters: Decodable>(as type: Parameters.Type) throws -> Parameters {
        try parameters.decode(as: type)
    }

    /// The application resource registered under `key` on the job or the operator (made now if it is a factory
    /// that has not run yet).
    /// - Throws: ``BatchError/Code/missingResource`` naming the key when none is registered or its factory fails.
    public func resource<Key: ResourceKey>(_ key: Key.Type) async throws -> Key.Value {
        try await resources.resource(key)
    }

    /// The application resource registered by its type (``Job/resource(_:)``).
    /// - Throws: ``BatchError/Code/missingResource`` when none is registered.
    public func resource<Value: Sendable>(ofType type: Value.Type) async throws -> Value {
        try await resources.resource(ofType: type)
    }

    /// Whether a stop was requested for this job execution. Checks the repository when no stop reached this
    /// process directly; a long tasklet should look at it between units of work and return (or call
    /// ``throwIfStopRequested()``): a tasklet that returns once a stop was requested ends STOPPED, and a restart
    /// runs it again with the step context it saved.
    public var isStopRequested: Bool {
        get async throws { try await stopSignal.check(executionId: jobExecutionId, repository: repository) }
    }

    /// Throws ``BatchError/Code/stopped`` when a stop was requested, which ends the step STOPPED (restartable).
    public func throwIfStopRequested() async throws {
        if try await isStopRequested {
            throw BatchError(.stopped, "step '\(stepName)' stopped on request")
        }
    }
}

/// The job execution context shared by the steps of one execution.
final class JobContextBox: Sendable {
    private let storage: Mutex<ExecutionContext>
    init(_ context: ExecutionContext) { storage = Mutex(context) }
    var value: ExecutionContext {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
    func update(_ body: (inout ExecutionContext) -> Void) {
        storage.withLock { body(&$0) }
    }
}
