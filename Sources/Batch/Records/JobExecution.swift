import Foundation

/// One run of a job instance: when it started and ended, how it went, and the job's execution context.
public struct JobExecution: Sendable, Hashable, Codable, Identifiable {
    /// The repository's id (the "execution id" of the CLI and the messages).
    public var id: Int64
    /// The instance this execution runs.
    public var instanceId: Int64
    /// The job's name.
    public var jobName: String
    /// The parameters of this run (the instance's).
    public var parameters: JobParameters
    /// The status; see ``BatchStatus``.
    public var status: BatchStatus
    /// A short machine-readable outcome (`"COMPLETED"`, `"FAILED"`, `"STOPPED"`, or a job's own code).
    public var exitCode: String
    /// What went wrong, or an empty string.
    public var exitMessage: String
    /// When the execution was created (STARTING).
    public var createTime: Date
    /// When it began running (STARTED), if it did.
    public var startTime: Date?
    /// When it ended, if it did.
    public var endTime: Date?
    /// When the record was last written.
    public var lastUpdated: Date
    /// The optimistic-lock version: every update must carry the version it read and moves it on by one.
    public var version: Int
    /// The worker running the execution, if a worker runs it.
    public var workerId: String?
    /// The job's execution context: shared by its steps, saved at every step end, carried over to a restart.
    public var context: ExecutionContext

    /// Creates an execution record.
    public init(
        id: Int64, instanceId: Int64, jobName: String, parameters: JobParameters, status: BatchStatus = .starting,
        exitCode: String = "", exitMessage: String = "", createTime: Date, startTime: Date? = nil,
        endTime: Date? = nil, lastUpdated: Date, version: Int = 0, workerId: String? = nil,
        context: ExecutionContext = ExecutionContext()
    ) {
        self.id = id
        self.instanceId = instanceId
        self.jobName = jobName
        self.parameters = parameters
        self.status = status
        self.exitCode = exitCode
        self.exitMessage = exitMessage
        self.createTime = createTime
        self.startTime = startTime
        self.endTime = endTime
        self.lastUpdated = lastUpdated
        self.version = version
        self.workerId = workerId
        self.context = context
    }
}
