import Batch
import BatchPostgres

/// The PostgreSQL repository keeps the workers' record in its `workers` table.
extension PostgresJobRepository: WorkerRegistry {
    /// Records a worker as alive (``registerWorker(id:host:pid:capacity:lease:)``).
    public func register(
        workerId: String, token: String, host: String, pid: Int, capacity: Int?, lease: Duration
    ) async throws {
        try await registerWorker(id: workerId, host: host, pid: pid, capacity: capacity, lease: lease, token: token)
    }

    /// Records a heartbeat of the process that registered with `token` (``heartbeat(workerId:token:)``).
    public func heartbeat(workerId: String, token: String) async throws -> Bool {
        try await heartbeat(workerId: workerId, token: Optional(token))
    }

    /// Removes a worker's row (``removeWorker(id:)``).
    public func deregister(workerId: String) async throws {
        try await removeWorker(id: workerId)
    }

    /// Fails the executions of workers past their lease (``failExecutionsOfLostWorkers(lease:)``).
    public func sweepLostWorkers(lease: Duration) async throws -> [JobExecution] {
        try await failExecutionsOfLostWorkers(lease: lease)
    }

    /// Fails this worker's executions it is not running, once older than 30 s
    /// (``failOrphanedExecutions(workerId:running:grace:)``).
    public func sweepOrphanedExecutions(workerId: String, running: Set<Int64>) async throws -> [JobExecution] {
        try await failOrphanedExecutions(workerId: workerId, running: running, grace: .seconds(30))
    }

    /// Fails this worker's partitions it is not running, once claimed more than 30 s ago
    /// (``failOrphanedPartitions(workerId:running:grace:)``).
    public func sweepOrphanedPartitions(workerId: String, running: Set<Int64>) async throws -> [StepExecution] {
        try await failOrphanedPartitions(workerId: workerId, running: running, grace: .seconds(30))
    }
}
