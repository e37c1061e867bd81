import Batch
import Foundation

/// A registered worker as the operators' API shows it: its row, its load and how long since it was last heard.
public struct WorkerStatus: Sendable, Hashable {
    /// The worker's id (the `workerId` of the executions it runs).
    public var id: String
    /// Its host name.
    public var host: String
    /// Its process id.
    public var pid: Int
    /// When it registered.
    public var started: Date
    /// Its last heartbeat.
    public var heartbeat: Date
    /// Seconds since its last heartbeat, by the database clock.
    public var heartbeatAge: Double
    /// Executions it runs now (STARTING, STARTED or STOPPING).
    public var running: Int
    /// Remote partitions it runs now.
    public var partitions: Int
    /// How many jobs and partitions it runs at once (its `--concurrency`); nil when it did not record it.
    public var capacity: Int?

    /// Creates a worker status.
    public init(
        id: String, host: String, pid: Int, started: Date, heartbeat: Date, heartbeatAge: Double, running: Int,
        partitions: Int = 0, capacity: Int? = nil
    ) {
        self.partitions = partitions
        self.capacity = capacity
        self.id = id
        self.host = host
        self.pid = pid
        self.started = started
        self.heartbeat = heartbeat
        self.heartbeatAge = heartbeatAge
        self.running = running
    }
}

extension PostgresJobRepository {
    /// A page of job executions, newest first: those with an id below `before` (all when `nil`), optionally of one
    /// job and one status. Each combination of filters walks an index (the primary key, `job_executions_by_job`,
    /// `job_executions_by_status` or `job_executions_by_job_status`) from `before` down, so a page costs the same
    /// however long the history is.
    ///
    /// - Parameters:
    ///   - jobName: only this job's executions.
    ///   - status: only executions with this status.
    ///   - before: only ids lower than this (the last id of the previous page).
    ///   - limit: at most this many.
    public func jobExecutions(
        jobName: String?, status: BatchStatus?, before: Int64?, limit: Int
    ) async throws -> [JobExecution] {
        var conditions: [String] = []
        var parameters: [PostgresValue?] = []
        func condition(_ column: String, _ value: PostgresValue, _ comparison: String = "=") {
            parameters.append(value)
            conditions.append("\(column) \(comparison) $\(parameters.count)")
        }
        if let jobName { condition("job_name", .text(jobName)) }
        if let status { condition("status", .text(status.rawValue)) }
        if let before { condition("id", .int(before), "<") }
        parameters.append(.int(max(0, limit)))
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let sql =
            "SELECT \(Self.jobExecutionColumns) FROM \(quoted).job_executions\(filter) ORDER BY id DESC LIMIT $\(parameters.count)"
        return try await repositoryCall("list job executions") {
            try await select(sql, parameters).map(Self.jobExecution(from:))
        }
    }

    /// The registered workers, by id, with the number of executions each runs and the age of its heartbeat.
    public func workerStatuses() async throws -> [WorkerStatus] {
        try await repositoryCall("list workers") {
            try await select(
                """
                SELECT w.id, w.host, w.pid, w.capacity, w.started, w.heartbeat,
                       greatest(extract(epoch FROM now() - w.heartbeat), 0)::float8 AS age,
                       (SELECT count(*) FROM \(quoted).job_executions e
                         WHERE e.worker_id = w.id AND e.status IN ('STARTING', 'STARTED', 'STOPPING')) AS running,
                       (SELECT count(*) FROM \(quoted).step_executions s
                         WHERE s.worker_id = w.id AND s.status IN ('STARTED', 'STOPPING')) AS partitions
                  FROM \(quoted).workers w ORDER BY w.id
                """, []
            ).map { row in
                WorkerStatus(
                    id: try row.decode("id"), host: try row.decode("host"), pid: try row.decode("pid"),
                    started: try row.decode("started"), heartbeat: try row.decode("heartbeat"),
                    heartbeatAge: try row.decode("age"), running: try row.decode("running"),
                    partitions: try row.decode("partitions"), capacity: try row.decode("capacity"))
            }
        }
    }
}
