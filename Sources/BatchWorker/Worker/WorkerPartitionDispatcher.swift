import Batch
import BatchRabbitMQ
import Synchronization

/// The worker's ``RemotePartitionDispatcher``: sends partitions to the partitions queue through the worker's
/// ``EventSink``, wakes a waiting manager when a step event of its execution arrives (or a partition ends in this
/// process), and frees a waiting manager's capacity slot.
final class WorkerPartitionDispatcher: RemotePartitionDispatcher {
    let lease: Duration
    let maxAttempts: Int
    private let sink: any EventSink
    private let capacity: WorkerCapacity
    /// Per waiting manager's job execution, the flag its next wake sets (kept set until a wait sees it).
    private let wakes = Mutex<[Int64: ShutdownFlag]>([:])

    init(sink: any EventSink, capacity: WorkerCapacity, lease: Duration, maxAttempts: Int) {
        self.sink = sink
        self.capacity = capacity
        self.lease = lease
        self.maxAttempts = max(1, maxAttempts)
    }

    func dispatch(_ partitions: [RemotePartition]) async throws {
        try await sink.sendPartitions(
            partitions.map { .partition(executionId: $0.jobExecutionId, stepExecutionId: $0.stepExecutionId) })
    }

    /// Returns at the next wake of `jobExecutionId`'s manager, after `timeout`, or at once when a wake came since
    /// the last wait returned (none is lost between two waits).
    func waitForPartitions(of jobExecutionId: Int64, atMost timeout: Duration) async {
        let woken = wakes.withLock { $0[jobExecutionId] } ?? ShutdownFlag()
        await woken.wait(atMost: timeout)
        guard woken.isRequested else { return }
        // Seen: the next wait waits for the next wake.
        wakes.withLock { wakes in
            if wakes[jobExecutionId] === woken { wakes[jobExecutionId] = ShutdownFlag() }
        }
    }

    func managerWaiting(jobExecutionId: Int64, _ waiting: Bool) {
        if waiting {
            wakes.withLock { $0[jobExecutionId] = ShutdownFlag() }
            capacity.suspend(jobExecutionId)
        } else {
            capacity.resume(jobExecutionId)
            wakes.withLock { _ = $0.removeValue(forKey: jobExecutionId) }
        }
    }

    /// Wakes the manager of `jobExecutionId`, if it waits in this process.
    func wake(_ jobExecutionId: Int64) {
        wakes.withLock { $0[jobExecutionId] }?.request()
    }
}
