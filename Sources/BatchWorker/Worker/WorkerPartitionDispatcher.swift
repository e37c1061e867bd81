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
    /// Per waiting manager's job execution: how many wakes came, and the wake-up its wait, if any, ends.
    private let wakes = Mutex<[Int64: (count: Int, wakeUp: WakeUp?)]>([:])

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
        let wakeUp = WakeUp()
        let woken = wakes.withLock { wakes -> Bool in
            guard var entry = wakes[jobExecutionId] else { return false }
            if entry.count > 0 {
                entry.count = 0
                wakes[jobExecutionId] = entry
                return true
            }
            entry.wakeUp = wakeUp
            wakes[jobExecutionId] = entry
            return false
        }
        guard !woken else { return }
        await wakeUp.wait(atMost: timeout)
        wakes.withLock { wakes in
            guard var entry = wakes[jobExecutionId] else { return }
            if entry.wakeUp === wakeUp { entry.wakeUp = nil }
            if wakeUp.isSignalled { entry.count = 0 }
            wakes[jobExecutionId] = entry
        }
    }

    func managerWaiting(jobExecutionId: Int64, _ waiting: Bool) {
        if waiting {
            wakes.withLock { $0[jobExecutionId] = (0, nil) }
            capacity.suspend(jobExecutionId)
        } else {
            capacity.resume(jobExecutionId)
            wakes.withLock { _ = $0.removeValue(forKey: jobExecutionId) }
        }
    }

    /// Wakes the manager of `jobExecutionId`, if it waits in this process.
    func wake(_ jobExecutionId: Int64) {
        let wakeUp = wakes.withLock { wakes -> WakeUp? in
            guard var entry = wakes[jobExecutionId] else { return nil }
            entry.count += 1
            let wakeUp = entry.wakeUp
            entry.wakeUp = nil
            wakes[jobExecutionId] = entry
            return wakeUp
        }
        wakeUp?.signal()
    }
}
