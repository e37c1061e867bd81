import Batch
import BatchWorker
import Foundation
import Synchronization

/// A ``WorkerRegistry`` in memory, the twin of the `workers` table for tests: records registrations, heartbeats and
/// deregistrations, and — given the ``InMemoryJobRepository`` the workers use — fails the executions of lost
/// workers, orphans (executions and remote partitions), and those a worker gives up, as the PostgreSQL repository
/// does (the steps of a failed job execution are left as they are).
public final class InMemoryWorkerRegistry: WorkerRegistry {
    /// One registered worker.
    public struct Entry: Sendable, Hashable {
        /// Its host.
        public var host: String
        /// Its process id.
        public var pid: Int
        /// Its last heartbeat.
        public var heartbeat: ContinuousClock.Instant
        /// How many heartbeats it recorded.
        public var heartbeats: Int
        /// Its capacity (`--concurrency`), when it gave one.
        public var capacity: Int?
        /// Its lease (`--lease`), by which the sweeps judge it.
        public var lease: Duration?
        /// The token of the process that registered it.
        public var token: String = ""
    }

    private struct State {
        var workers: [String: Entry] = [:]
        var deregistered: [String] = []
        var failure: (any Error)?
    }

    private let state = Mutex(State())
    private let repository: (any JobRepository)?
    /// How long ago a partition must have been claimed for the orphan sweep to fail it.
    public let partitionGrace: Duration

    /// Creates an empty registry.
    /// - Parameters:
    ///   - repository: where the executions live, for the sweeps (without one they find nothing).
    ///   - partitionGrace: how long ago a partition must have been claimed for the orphan sweep to fail it.
    public init(repository: (any JobRepository)? = nil, partitionGrace: Duration = .seconds(1)) {
        self.repository = repository
        self.partitionGrace = partitionGrace
    }

    /// The workers registered now.
    public var workers: [String: Entry] { state.withLock { $0.workers } }
    /// The ids deregistered, in order.
    public var deregistered: [String] { state.withLock { $0.deregistered } }

    /// Makes every later call throw `error` (a database away), or succeed again with `nil`.
    public func fail(with error: (any Error)?) { state.withLock { $0.failure = error } }

    private func check() throws {
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Records the worker.
    public func register(
        workerId: String, token: String, host: String, pid: Int, capacity: Int?, lease: Duration
    ) async throws {
        try check()
        try state.withLock { state in
            if let holder = state.workers[workerId], holder.token != token {
                let age = ContinuousClock.now - holder.heartbeat
                let holderLease = holder.lease ?? lease
                if age < holderLease {
                    throw BatchError.workerIdInUse(
                        workerId, host: holder.host, pid: holder.pid, heartbeatAge: age, lease: holderLease)
                }
            }
            state.workers[workerId] = Entry(
                host: host, pid: pid, heartbeat: .now, heartbeats: 0, capacity: capacity, lease: lease, token: token)
        }
        (repository as? InMemoryJobRepository)?.recordHeartbeat(workerId: workerId)
    }

    /// Records a heartbeat; `false` when the worker is not registered by the process of `token`.
    public func heartbeat(workerId: String, token: String) async throws -> Bool {
        try check()
        let known = state.withLock { state in
            guard state.workers[workerId]?.token == token else { return false }
            state.workers[workerId]?.heartbeat = .now
            state.workers[workerId]?.heartbeats += 1
            return true
        }
        // Remote partitions' lease sweep reads the heartbeats from the repository, as from the workers table.
        if known { (repository as? InMemoryJobRepository)?.recordHeartbeat(workerId: workerId) }
        return known
    }

    /// Removes the worker.
    public func deregister(workerId: String) async throws {
        try check()
        state.withLock { state in
            state.workers[workerId] = nil
            state.deregistered.append(workerId)
        }
        (repository as? InMemoryJobRepository)?.removeHeartbeat(workerId: workerId)
    }

    /// Fails the running executions of workers not registered or silent for longer than their own lease (else
    /// `lease`), and ends STOPPED
    /// the remote partitions such workers still hold of executions that ended, as the PostgreSQL sweep does.
    public func sweepLostWorkers(lease: Duration) async throws -> [JobExecution] {
        try check()
        let now = ContinuousClock.now
        let alive = state.withLock { state in
            Set(state.workers.filter { now - $0.value.heartbeat <= $0.value.lease ?? lease }.keys)
        }
        let failed = try await fail(message: { "worker \($0) was lost (no heartbeat within the lease)" }) { execution in
            guard let worker = execution.workerId else { return false }
            return !alive.contains(worker)
        }
        guard let repository else { return failed }
        for execution in try await repository.jobExecutions(jobName: nil, limit: 10_000)
        where execution.status.isFinished {
            for var step in try await repository.stepExecutions(jobExecutionId: execution.id)
            where step.status.isRunning && step.workerId.map({ !alive.contains($0) }) == true {
                step.status = .stopped
                step.exitCode = "STOPPED"
                step.exitMessage = "the job execution ended and worker \(step.workerId ?? "-") was lost"
                step.endTime = Date()
                _ = try await repository.updateStepExecution(step)
            }
        }
        return failed
    }

    /// Fails `workerId`'s running executions that are not in `running` (no grace: tests control what runs).
    public func sweepOrphanedExecutions(workerId: String, running: Set<Int64>) async throws -> [JobExecution] {
        try check()
        return try await fail(message: { "worker \($0) was not running this execution" }) { execution in
            execution.workerId == workerId && !running.contains(execution.id)
        }
    }

    /// Fails `workerId`'s running remote partitions that are not in `running` and were claimed more than
    /// ``partitionGrace`` ago (a partition is claimed before its run begins).
    public func sweepOrphanedPartitions(workerId: String, running: Set<Int64>) async throws -> [StepExecution] {
        try check()
        guard let repository else { return [] }
        let claimedBefore = Date() - partitionGrace.timeInterval
        var failed: [StepExecution] = []
        for execution in try await repository.jobExecutions(jobName: nil, limit: 10_000) {
            for var step in try await repository.stepExecutions(jobExecutionId: execution.id)
            where step.workerId == workerId && step.status.isRunning && !running.contains(step.id)
                && step.startTime < claimedBefore
            {
                step.status = execution.status == .stopping ? .stopped : .failed
                step.exitCode = step.status.rawValue
                step.exitMessage = "worker \(workerId) was not running this partition"
                step.endTime = Date()
                failed.append(try await repository.updateStepExecution(step))
            }
        }
        return failed
    }

    /// Fails every running execution of `workerId` with `message`.
    public func failRunningExecutions(workerId: String, message: String) async throws -> [JobExecution] {
        try check()
        return try await fail(message: { _ in message }) { $0.workerId == workerId }
    }

    private func fail(
        message: (String) -> String, where matches: (JobExecution) -> Bool
    ) async throws -> [JobExecution] {
        guard let repository else { return [] }
        var failed: [JobExecution] = []
        for var execution in try await repository.jobExecutions(jobName: nil, limit: 10_000)
        where execution.status.isRunning && matches(execution) {
            execution.status = .failed
            execution.exitCode = "FAILED"
            execution.exitMessage = message(execution.workerId ?? "-")
            execution.endTime = Date()
            failed.append(try await repository.updateJobExecution(execution))
        }
        return failed
    }
}
