/// Where a remote partition step sends its partitions: the seam between the engine and the fleet. The worker's
/// implementation publishes to the durable queue `batch.partitions` and wakes waiting managers on the partitions'
/// step events; the engine itself knows no broker.
///
/// An operator without a dispatcher (`swiftbatch run`, tests) runs remote partition steps' partitions in its own
/// process, as local ones.
public protocol RemotePartitionDispatcher: Sendable {
    /// How long a worker may go without a heartbeat before its partitions are sent again.
    var lease: Duration { get }
    /// How many times a partition is sent to a worker before a lost worker ends it FAILED (at least 1).
    var maxAttempts: Int { get }
    /// How long a partition may wait for a worker before its message is sent again, in case it was lost (a copy is
    /// harmless: only one claim wins); the wait doubles with each send, up to an hour. 60 s by default.
    var resendAfter: Duration { get }

    /// Sends each partition to the fleet (one message each); returns once they are accepted (the broker confirmed
    /// them).
    /// - Throws: when they could not be sent; the manager tries again at its next poll.
    func dispatch(_ partitions: [RemotePartition]) async throws

    /// Returns when a partition of `jobExecutionId` may have changed (one of its step events arrived), or after
    /// `timeout`, whichever comes first. The manager reads the database after each return: events only wake it.
    func waitForPartitions(of jobExecutionId: Int64, atMost timeout: Duration) async

    /// Called with `true` when the manager of `jobExecutionId` starts waiting for its partitions and with `false`
    /// when it stops: a waiting manager holds no capacity slot, so a fleet whose slots are all taken by managers can
    /// still run their partitions.
    func managerWaiting(jobExecutionId: Int64, _ waiting: Bool)
}

extension RemotePartitionDispatcher {
    /// 60 s.
    public var resendAfter: Duration { .seconds(60) }
}

/// One partition sent to the fleet: `{"command": "partition", "executionId": 42, "stepExecutionId": 317}`.
public struct RemotePartition: Sendable, Hashable {
    /// The job's name (for the log and the routing of its events).
    public var jobName: String
    /// The job execution the partition belongs to.
    public var jobExecutionId: Int64
    /// The partition's step execution.
    public var stepExecutionId: Int64

    /// Creates a partition reference.
    public init(jobName: String, jobExecutionId: Int64, stepExecutionId: Int64) {
        self.jobName = jobName
        self.jobExecutionId = jobExecutionId
        self.stepExecutionId = stepExecutionId
    }
}
