import Foundation

/// One run of one step within a job execution, with its counters and its execution context.
///
/// A partition of a partitioned step is a step execution of its own, named `"<step>:<partition>"`.
public struct StepExecution: Sendable, Hashable, Codable, Identifiable {
    /// The repository's id; 0 until the repository has stored it.
    public var id: Int64
    /// The job execution this step execution belongs to.
    public var jobExecutionId: Int64
    /// The step's name (`"<step>:<partition>"` for a partition).
    public var stepName: String
    /// The status; see ``BatchStatus``.
    public var status: BatchStatus
    /// The item counters.
    public var counters: StepCounters
    /// A short machine-readable outcome.
    public var exitCode: String
    /// What went wrong, or an empty string.
    public var exitMessage: String
    /// When the step began.
    public var startTime: Date
    /// When it ended, if it did.
    public var endTime: Date?
    /// When the record was last written.
    public var lastUpdated: Date
    /// The optimistic-lock version.
    public var version: Int
    /// The step's execution context: reader and writer positions, saved at every chunk commit.
    public var context: ExecutionContext
    /// The worker running this step execution when it is a remote partition (set when a worker claims it), else
    /// nil: a local step runs on its job execution's worker.
    public var workerId: String?
    /// How many times a worker claimed this remote partition (1 on its first run; a partition re-sent after its
    /// worker was lost counts again); 0 for a local step.
    public var attempt: Int

    /// Creates a step execution record.
    public init(
        id: Int64 = 0, jobExecutionId: Int64, stepName: String, status: BatchStatus = .starting,
        counters: StepCounters = StepCounters(), exitCode: String = "", exitMessage: String = "",
        startTime: Date, endTime: Date? = nil, lastUpdated: Date, version: Int = 0,
        context: ExecutionContext = ExecutionContext(), workerId: String? = nil, attempt: Int = 0
    ) {
        self.id = id
        self.jobExecutionId = jobExecutionId
        self.stepName = stepName
        self.status = status
        self.counters = counters
        self.exitCode = exitCode
        self.exitMessage = exitMessage
        self.startTime = startTime
        self.endTime = endTime
        self.lastUpdated = lastUpdated
        self.version = version
        self.context = context
        self.workerId = workerId
        self.attempt = attempt
    }
}

/// The item counters of a step execution, as Spring Batch keeps them.
public struct StepCounters: Sendable, Hashable, Codable {
    /// Items read in committed chunks.
    public var read: Int = 0
    /// Items written in committed chunks.
    public var write: Int = 0
    /// Items the processor filtered out (returned nil for).
    public var filter: Int = 0
    /// Chunks committed (a tasklet counts one commit).
    public var commit: Int = 0
    /// Chunks rolled back.
    public var rollback: Int = 0
    /// Items skipped because reading them failed.
    public var readSkip: Int = 0
    /// Items skipped because processing them failed.
    public var processSkip: Int = 0
    /// Items skipped because writing them failed.
    public var writeSkip: Int = 0

    /// Creates counters, all zero unless given.
    public init(
        read: Int = 0, write: Int = 0, filter: Int = 0, commit: Int = 0, rollback: Int = 0, readSkip: Int = 0,
        processSkip: Int = 0, writeSkip: Int = 0
    ) {
        self.read = read
        self.write = write
        self.filter = filter
        self.commit = commit
        self.rollback = rollback
        self.readSkip = readSkip
        self.processSkip = processSkip
        self.writeSkip = writeSkip
    }

    /// The counters of both, added.
    public static func + (lhs: StepCounters, rhs: StepCounters) -> StepCounters {
        StepCounters(
            read: lhs.read + rhs.read, write: lhs.write + rhs.write, filter: lhs.filter + rhs.filter,
            commit: lhs.commit + rhs.commit, rollback: lhs.rollback + rhs.rollback,
            readSkip: lhs.readSkip + rhs.readSkip, processSkip: lhs.processSkip + rhs.processSkip,
            writeSkip: lhs.writeSkip + rhs.writeSkip)
    }
}
