import Batch

extension PostgresJobRepository {
    /// Stores a step execution and commits the open chunk transaction, in one round trip: the guarded update and
    /// `COMMIT` are pipelined behind whatever the chunk sent. When the version is stale the update's guard raises an
    /// error, so the server skips the `COMMIT` and the chunk rolls back. The same statement reads the job
    /// execution's status and version, the chunk step's stop check at this boundary.
    func commitChunk(
        _ step: StepExecution, on connection: PostgresConnection, depth: Int
    ) async throws -> (StepExecution, ExecutionStatusSnapshot?) {
        let update = """
            WITH updated AS (
                UPDATE \(quoted).step_executions
                   SET status = $3, read_count = $4, write_count = $5, filter_count = $6, commit_count = $7,
                       rollback_count = $8, read_skip_count = $9, process_skip_count = $10,
                       write_skip_count = $11, start_time = $12, end_time = $13, exit_code = $14,
                       exit_message = $15, context = $16, version = version + 1, last_updated = now()
                 WHERE id = $1 AND version = $2
                RETURNING \(Self.stepExecutionColumns)
            )
            SELECT updated.*, guard_row.version_guard, job.status AS job_status, job.version AS job_version
              FROM (SELECT 1 / (SELECT count(*)::int FROM updated) AS version_guard) guard_row
              LEFT JOIN updated ON true
              LEFT JOIN \(quoted).job_executions job ON job.id = updated.job_execution_id
            """
        let results: [PostgresRows]
        do {
            let parameters = try ([.int(step.id), .int(step.version)] + Self.stepValues(step)).enumerated().map {
                position, value in
                try value.map {
                    PostgresEncodedParameter.text(try $0.textEncoding(position: position + 1), typeOID: $0.typeOID)
                }
            }
            results = try await connection.commitPipelined(update, parameters, depth: depth)
        } catch let error as PostgresError where error.statement == update && error.sqlState == "22012" {
            // The guard: no row had that id and version. Roll back, then say which it was.
            await connection.rollback(depth: depth)
            throw try await repositoryCall("check step execution \(step.id)") {
                try await missingOrStale(
                    "step execution", table: "step_executions", step.id, step.version, on: connection)
            }
        } catch let error as PostgresError where error.statement != update && error.statement != "COMMIT" {
            // A statement the chunk's writer sent ahead failed: the writer's error, as it is (skip and retry
            // policies look at it); nothing was committed.
            throw error
        } catch {
            throw BatchError(
                .repositoryFailure, "could not commit the chunk of step execution \(step.id): \(error)",
                underlying: error)
        }
        if results.last?.commandTag == "ROLLBACK" {
            let message =
                "the chunk of step execution \(step.id) was rolled back instead of committed because a statement in "
                + "it failed"
            throw BatchError(.repositoryFailure, message, underlying: PostgresError.rolledBackAtCommit(message))
        }
        guard results.count >= 2, let row = results[results.count - 2].first else {
            let message = "the update of step execution \(step.id) returned no row"
            throw BatchError(
                .repositoryFailure, message,
                underlying: PostgresError(.unexpectedResult, message, statement: update))
        }
        return try await repositoryCall("read step execution \(step.id)") {
            let status: String? = try row.decode("job_status")
            let version: Int64? = try row.decode("job_version")
            var snapshot: ExecutionStatusSnapshot?
            if let status = status.flatMap(BatchStatus.init(rawValue:)), let version {
                snapshot = ExecutionStatusSnapshot(status: status, version: Int(version))
            }
            return (try Self.stepExecution(from: row), snapshot)
        }
    }
}
