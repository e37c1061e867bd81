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
    /// A counter per job execution, moved on by every wake.
    private let wakes = Mutex<[Int64: Int]>([:])

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

    func waitForPartitions(of jobExecutionId: Int64, atMost timeout: Duration) async {
        let start = wakes.withLock { $0[jobExecutionId] ?? 0 }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, wakes.withLock({ $0[jobExecutionId] ?? 0 }) == start {
            do { try await Task.sleep(for: .milliseconds(20)) } catch { return }
        }
    }

    func managerWaiting(jobExecutionId: Int64, _ waiting: Bool) {
        if waiting {
            wakes.withLock { $0[jobExecutionId] = 0 }
            capacity.suspend(jobExecutionId)
        } else {
            capacity.resume(jobExecutionId)
            wakes.withLock { _ = $0.removeValue(forKey: jobExecutionId) }
        }
    }

    /// Wakes the manager of `jobExecutionId`, if it waits in this process.
    func wake(_ jobExecutionId: Int64) {
        wakes.withLock { wakes in
            if let count = wakes[jobExecutionId] { wakes[jobExecutionId] = count + 1 }
        }
    }
}
