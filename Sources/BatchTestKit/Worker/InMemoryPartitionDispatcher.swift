import Batch
import Foundation
import Synchronization

/// A ``RemotePartitionDispatcher`` in memory, the twin of the `batch.partitions` queue for tests: each dispatched
/// partition is taken by one of the ``attach(_:)``ed worker operators in turn (claimed with the id
/// `memory-worker-<n>`, run, and its manager woken), unless ``loses`` says that attempt's worker is lost: then the
/// partition is claimed by `lost-worker-<attempt>` and never runs (that worker records no heartbeat, so the lease
/// sweep finds it lost at once).
public final class InMemoryPartitionDispatcher: RemotePartitionDispatcher {
    /// How long a worker may go without a heartbeat.
    public let lease: Duration
    /// The attempt limit.
    public let maxAttempts: Int
    /// How long a partition waits for a worker before it is sent again.
    public let resendAfter: Duration
    /// Whether the worker taking attempt `attempt` (1-based) of the partition named `stepName` is lost.
    public let loses: @Sendable (_ stepName: String, _ attempt: Int) -> Bool
    private let repository: InMemoryJobRepository
    private struct State {
        var workers: [JobOperator] = []
        var next = 0
        var dispatched: [RemotePartition] = []
        var waiting: [(Int64, Bool)] = []
        var tasks: [Task<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Creates the dispatcher.
    /// - Parameters:
    ///   - repository: the repository the operators share (heartbeats are recorded in it).
    ///   - lease: the lease; default one hour (only workers without a heartbeat count as lost).
    ///   - maxAttempts: the attempt limit; default 3.
    ///   - resendAfter: how long a partition waits for a worker before it is sent again; default one hour.
    ///   - loses: which attempts are lost; default none.
    public init(
        repository: InMemoryJobRepository, lease: Duration = .seconds(3600), maxAttempts: Int = 3,
        resendAfter: Duration = .seconds(3600),
        loses: @escaping @Sendable (_ stepName: String, _ attempt: Int) -> Bool = { _, _ in false }
    ) {
        self.repository = repository
        self.lease = lease
        self.maxAttempts = maxAttempts
        self.resendAfter = resendAfter
        self.loses = loses
    }

    /// Adds the operators that take partitions (operators without a dispatcher, on the same repository).
    public func attach(_ workers: [JobOperator]) {
        state.withLock { $0.workers += workers }
    }

    /// Every partition dispatched, re-sent ones again, in order.
    public var dispatched: [RemotePartition] { state.withLock { $0.dispatched } }
    /// The managers' waiting calls, in order.
    public var waitingCalls: [(jobExecutionId: Int64, waiting: Bool)] {
        state.withLock { $0.waiting.map { (jobExecutionId: $0.0, waiting: $0.1) } }
    }

    /// Hands each partition to the next worker.
    public func dispatch(_ partitions: [RemotePartition]) async throws {
        for partition in partitions {
            let (index, worker) = state.withLock { state -> (Int, JobOperator?) in
                state.dispatched.append(partition)
                guard !state.workers.isEmpty else { return (0, nil) }
                defer { state.next += 1 }
                return (state.next % state.workers.count, state.workers[state.next % state.workers.count])
            }
            guard let worker else { continue }
            let task = Task { await self.take(partition, worker: worker, index: index) }
            state.withLock { $0.tasks.append(task) }
        }
    }

    private func take(_ partition: RemotePartition, worker: JobOperator, index: Int) async {
        guard let step = try? await repository.stepExecution(id: partition.stepExecutionId) else { return }
        let attempt = step.attempt + 1
        if loses(step.stepName, attempt) {
            _ = try? await repository.claimPartition(
                stepExecutionId: partition.stepExecutionId, workerId: "lost-worker-\(attempt)")
            return
        }
        let workerId = "memory-worker-\(index)"
        repository.recordHeartbeat(workerId: workerId)
        guard
            let (execution, _) = try? await worker.checkPartition(
                stepExecutionId: partition.stepExecutionId, jobExecutionId: partition.jobExecutionId),
            case .claimed(let claimed) = try? await repository.claimPartition(
                stepExecutionId: partition.stepExecutionId, workerId: workerId)
        else { return }
        _ = try? await worker.runPartition(claimed, of: execution)
    }

    /// Sleeps a little (the repository is read after).
    public func waitForPartitions(of jobExecutionId: Int64, atMost timeout: Duration) async {
        try? await Task.sleep(for: min(timeout, .milliseconds(10)))
    }

    /// Records the call.
    public func managerWaiting(jobExecutionId: Int64, _ waiting: Bool) {
        state.withLock { $0.waiting.append((jobExecutionId, waiting)) }
    }

    /// Waits for every partition handed out so far to end.
    public func waitForWorkers() async {
        for task in state.withLock({ $0.tasks }) { await task.value }
    }
}
