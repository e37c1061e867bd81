import Batch
import Foundation
import Logging

/// The job repository in PostgreSQL (the tables of ``PostgresMigrations``): job instances, job executions, step
/// executions and workers in a schema of their own, with exactly the behaviour of `InMemoryJobRepository`.
///
/// - One running execution per instance: creating an execution locks the instance row, applies the start rules
///   and inserts, in one transaction; a partial unique index over the running statuses backs it up, so two
///   workers racing to start the same instance cannot both win.
/// - Optimistic versions: `UPDATE ... WHERE id = $1 AND version = $2`; no row means someone else moved the version
///   on, reported as ``BatchError/Code/optimisticLock``.
/// - A launch is one round trip however much history the instance has; a step's start and its end one each (see
///   ``startStep(_:)``, ``endStep(_:jobExecution:)``): a one-step job costs three from launch to COMPLETED.
/// - The chunk transaction is a leased connection with an open transaction: writers cast the transaction to
///   ``PostgresChunkTransaction`` and write on its ``PostgresChunkTransaction/connection``.
///
/// ```swift
/// let repository = try PostgresJobRepository(configuration: .fromEnvironment()!, logger: logger)
/// try await repository.migrate()
/// ```
public final class PostgresJobRepository: JobRepository {
    /// The pool the repository works through.
    public let pool: PostgresConnectionPool
    /// The schema's name.
    public let schema: String
    /// The schema's quoted name, for statements.
    let quoted: String
    let logger: Logger

    /// Creates a repository on a pool; the schema is the pool configuration's.
    ///
    /// - Parameters:
    ///   - pool: where connections come from.
    ///   - logger: for migrations and the lost-worker sweep.
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration`` for a bad schema name.
    public init(pool: PostgresConnectionPool, logger: Logger) throws {
        self.pool = pool
        self.schema = pool.configuration.schema
        self.quoted = try PostgresConfiguration.quotedIdentifier(pool.configuration.schema, what: "schema")
        self.logger = logger
    }

    /// Creates a repository with a pool of its own.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration`` for a bad schema name.
    public convenience init(configuration: PostgresConfiguration, logger: Logger) throws {
        try self.init(pool: PostgresConnectionPool(configuration: configuration, logger: logger), logger: logger)
    }

    /// Creates or upgrades the schema (see ``PostgresMigrations``); safe to call from many processes at once.
    ///
    /// - Returns: the migration versions this call applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await pool.withConnection { connection in
            try await PostgresMigrations.run(on: connection, schema: schema, logger: logger)
        }
    }

    /// Closes the pool's connections.
    public func shutdown() async {
        await pool.shutdown()
    }

    /// See `JobRepository.createJobExecution(jobName:jobKey:parameters:workerId:newInstanceOnly:)`: one round trip
    /// however many executions the instance already has (see ``launch(jobName:jobKey:parameters:workerId:newInstanceOnly:)``).
    public func createJobExecution(
        jobName: String, jobKey: String, parameters: JobParameters, workerId: String?, newInstanceOnly: Bool
    ) async throws -> JobExecution {
        try await repositoryCall("create an execution of job '\(jobName)'") {
            try await launch(
                jobName: jobName, jobKey: jobKey, parameters: parameters, workerId: workerId,
                newInstanceOnly: newInstanceOnly)
        }
    }

    /// See `JobRepository.updateJobExecution(_:)`.
    public func updateJobExecution(_ execution: JobExecution) async throws -> JobExecution {
        try await repositoryCall("update job execution \(execution.id)") {
            let rows: PostgresRows
            do {
                rows = try await pool.withConnection { connection in
                    try await connection.query(
                        updateJobExecutionSQL, Self.jobExecutionValues(execution), prepared: true)
                }
            } catch let error as PostgresError where isOneRunningViolation(error) {
                throw BatchError(
                    .alreadyRunning,
                    "job execution \(execution.id) cannot become \(execution.status.rawValue): another execution of "
                        + "its instance is running", underlying: error)
            }
            if let row = rows.first { return try Self.jobExecution(from: row) }
            throw try await missingOrStale("job execution", table: "job_executions", execution.id, execution.version)
        }
    }

    /// See `JobRepository.abandonJobExecution(_:)`. Writing the instance row first serialises the abandon with
    /// launches, which all write it: a launch that committed first is seen by the next statement (a fresh snapshot at
    /// READ COMMITTED), and the abandon is refused; one that comes after meets a serialization failure at REPEATABLE
    /// READ and is tried again, seeing the instance abandoned.
    public func abandonJobExecution(_ execution: JobExecution) async throws -> JobExecution {
        try await repositoryCall("abandon job execution \(execution.id)") {
            try await pool.withConnection { connection in
                // Each statement needs a snapshot of its own.
                try await connection.withTransaction(isolation: .readCommitted) { connection in
                    try await connection.query(
                        "UPDATE \(quoted).job_instances SET job_name = job_name WHERE id = $1",
                        [.int(execution.instanceId)], prepared: true)
                    let last = try await connection.query(
                        "SELECT max(id) AS last FROM \(quoted).job_executions WHERE instance_id = $1",
                        [.int(execution.instanceId)], prepared: true
                    ).single().decode("last", as: Int64?.self)
                    if let last, last != execution.id { throw BatchError.notTheLastExecution(execution.id, last: last) }
                    let rows = try await connection.query(
                        updateJobExecutionSQL, Self.jobExecutionValues(execution), prepared: true)
                    if let row = rows.first { return try Self.jobExecution(from: row) }
                    throw try await missingOrStale(
                        "job execution", table: "job_executions", execution.id, execution.version, on: connection)
                }
            }
        }
    }

    /// See `JobRepository.jobExecution(id:)`.
    public func jobExecution(id: Int64) async throws -> JobExecution? {
        try await repositoryCall("read job execution \(id)") {
            try await select(
                "SELECT \(Self.jobExecutionColumns) FROM \(quoted).job_executions WHERE id = $1", [.int(id)]
            ).first.map(Self.jobExecution(from:))
        }
    }

    /// See `JobRepository.jobExecutionStatus(id:)`: one primary-key lookup of two columns.
    public func jobExecutionStatus(id: Int64) async throws -> ExecutionStatusSnapshot? {
        try await repositoryCall("read the status of job execution \(id)") {
            guard
                let row = try await select(
                    "SELECT status, version FROM \(quoted).job_executions WHERE id = $1", [.int(id)]
                ).first
            else { return nil }
            let text = try row.decode("status", as: String.self)
            guard let status = BatchStatus(rawValue: text) else {
                throw PostgresError(.decoding, "unknown status '\(text)' in the database")
            }
            return ExecutionStatusSnapshot(status: status, version: try row.decode("version"))
        }
    }

    /// See `JobRepository.jobInstance(id:)`.
    public func jobInstance(id: Int64) async throws -> JobInstance? {
        try await repositoryCall("read job instance \(id)") {
            try await select("SELECT \(Self.jobInstanceColumns) FROM \(quoted).job_instances WHERE id = $1", [.int(id)])
                .first.map(Self.jobInstance(from:))
        }
    }

    /// See `JobRepository.lastJobInstance(jobName:)`.
    public func lastJobInstance(jobName: String) async throws -> JobInstance? {
        try await repositoryCall("read the last instance of job '\(jobName)'") {
            try await select(
                """
                SELECT \(Self.jobInstanceColumns) FROM \(quoted).job_instances
                 WHERE job_name = $1 ORDER BY id DESC LIMIT 1
                """, [.text(jobName)]
            ).first.map(Self.jobInstance(from:))
        }
    }

    /// See `JobRepository.lastJobExecution(instanceId:)`.
    public func lastJobExecution(instanceId: Int64) async throws -> JobExecution? {
        try await repositoryCall("read the last execution of instance \(instanceId)") {
            try await select(
                """
                SELECT \(Self.jobExecutionColumns) FROM \(quoted).job_executions
                 WHERE instance_id = $1 ORDER BY id DESC LIMIT 1
                """, [.int(instanceId)]
            ).first.map(Self.jobExecution(from:))
        }
    }

    /// See `JobRepository.jobExecutions(jobName:limit:)`.
    public func jobExecutions(jobName: String?, limit: Int) async throws -> [JobExecution] {
        try await repositoryCall("list job executions") {
            let limit = PostgresValue.int(max(0, limit))
            let rows =
                if let jobName {
                    try await select(
                        """
                        SELECT \(Self.jobExecutionColumns) FROM \(quoted).job_executions
                         WHERE job_name = $1 ORDER BY id DESC LIMIT $2
                        """, [.text(jobName), limit])
                } else {
                    try await select(
                        "SELECT \(Self.jobExecutionColumns) FROM \(quoted).job_executions ORDER BY id DESC LIMIT $1",
                        [limit])
                }
            return try rows.map(Self.jobExecution(from:))
        }
    }

    /// See `JobRepository.createStepExecution(_:)`.
    public func createStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await repositoryCall("create step execution '\(stepExecution.stepName)'") {
            let rows = try await select(insertStepExecutionSQL, Self.insertValues(stepExecution))
            guard let row = rows.first else {
                throw BatchError(.executionNotFound, "no job execution \(stepExecution.jobExecutionId)")
            }
            return try Self.stepExecution(from: row)
        }
    }

    /// Inserts a step execution of the job execution `$1` (its instance read from there), returning the row.
    var insertStepExecutionSQL: String {
        """
        INSERT INTO \(quoted).step_executions (
            job_execution_id, job_instance_id, step_name, status, read_count, write_count, filter_count,
            commit_count, rollback_count, read_skip_count, process_skip_count, write_skip_count, start_time,
            end_time, exit_code, exit_message, context)
        SELECT id, instance_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
          FROM \(quoted).job_executions WHERE id = $1
        RETURNING \(Self.stepExecutionColumns)
        """
    }

    /// The values of ``insertStepExecutionSQL`` for `step`.
    static func insertValues(_ step: StepExecution) -> [PostgresValue?] {
        [.int(step.jobExecutionId), .text(step.stepName)] + stepValues(step)
    }

    /// See `JobRepository.updateStepExecution(_:)`.
    public func updateStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await pool.withConnection { connection in
            try await updateStepExecution(stepExecution, on: connection)
        }
    }

    /// Updates a step execution on a given connection (the chunk transaction's).
    func updateStepExecution(_ step: StepExecution, on connection: PostgresConnection) async throws -> StepExecution {
        try await repositoryCall("update step execution \(step.id)") {
            let rows = try await connection.query(
                updateStepExecutionSQL, [.int(step.id), .int(step.version)] + Self.stepValues(step), prepared: true)
            if let row = rows.first { return try Self.stepExecution(from: row) }
            throw try await missingOrStale(
                "step execution", table: "step_executions", step.id, step.version, on: connection)
        }
    }

    /// See `JobRepository.stepExecutions(jobExecutionId:)`.
    public func stepExecutions(jobExecutionId: Int64) async throws -> [StepExecution] {
        try await repositoryCall("list the steps of job execution \(jobExecutionId)") {
            try await select(
                """
                SELECT \(Self.stepExecutionColumns) FROM \(quoted).step_executions
                 WHERE job_execution_id = $1 ORDER BY id
                """, [.int(jobExecutionId)]
            ).map(Self.stepExecution(from:))
        }
    }

    /// See `JobRepository.lastStepExecution(instanceId:stepName:)`.
    public func lastStepExecution(instanceId: Int64, stepName: String) async throws -> StepExecution? {
        try await repositoryCall("read the last execution of step '\(stepName)'") {
            try await select(lastStepExecutionSQL, [.int(instanceId), .text(stepName)]).first.map(
                Self.stepExecution(from:))
        }
    }

    /// See `JobRepository.beginChunk()`: leases a connection and opens a transaction on it, held until the chunk
    /// commits or rolls back.
    public func beginChunk() async throws -> any ChunkTransaction {
        try await repositoryCall("begin a chunk transaction") {
            try await PostgresChunkTransaction.begin(repository: self)
        }
    }

    // MARK: - Helpers

    /// One statement on a pooled connection.
    func select(_ sql: String, _ parameters: [PostgresValue?]) async throws -> PostgresRows {
        try await pool.withConnection { connection in try await connection.query(sql, parameters, prepared: true) }
    }

    /// The error for an update that matched no row: the record is gone, or its version moved on.
    func missingOrStale(
        _ what: String, table: String, _ id: Int64, _ expected: Int, on connection: PostgresConnection? = nil
    ) async throws -> BatchError {
        let sql = "SELECT version FROM \(quoted).\(table) WHERE id = $1"
        let rows =
            if let connection {
                try await connection.query(sql, [.int(id)])
            } else {
                try await select(sql, [.int(id)])
            }
        guard let row = rows.first else {
            return BatchError(.executionNotFound, "no \(what) \(id)")
        }
        return BatchError.staleVersion(what, id, expected, try row.decode("version"))
    }

    func isOneRunningViolation(_ error: PostgresError) -> Bool {
        error.sqlState == PostgresError.SQLState.uniqueViolation
            && error.constraintName == PostgresMigrations.oneRunningIndex
    }

    /// Runs a repository operation, passing ``BatchError``s through and wrapping anything else in
    /// ``BatchError/Code/repositoryFailure`` (the ``PostgresError`` underneath).
    @discardableResult
    func repositoryCall<Result>(_ what: String, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as BatchError {
            throw error
        } catch let error as PostgresError {
            throw BatchError(.repositoryFailure, "could not \(what): \(error)", underlying: error)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw BatchError(.repositoryFailure, "could not \(what): \(error)", underlying: error)
        }
    }
}
