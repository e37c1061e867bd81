import Batch

extension PostgresJobRepository {
    /// Marks FAILED every running (STARTING, STARTED, STOPPING) job execution of `workerId`, and their running step
    /// executions, with `message`: what a worker does when its shutdown grace ends with jobs still running, so they
    /// can be restarted at once instead of after the lease. One statement.
    ///
    /// - Parameters:
    ///   - workerId: the worker giving up its executions.
    ///   - message: the exit message to record.
    /// - Returns: the executions marked FAILED, as stored.
    @discardableResult
    public func failRunningExecutions(workerId: String, message: String) async throws -> [JobExecution] {
        try await repositoryCall("fail the running executions of worker \(workerId)") {
            try await select(
                """
                WITH failed AS (
                    UPDATE \(quoted).job_executions
                       SET status = 'FAILED', exit_code = 'FAILED', exit_message = $2, end_time = now(),
                           last_updated = now(), version = version + 1
                     WHERE worker_id = $1 AND status IN ('STARTING', 'STARTED', 'STOPPING')
                    RETURNING *
                ), failed_steps AS (
                    UPDATE \(quoted).step_executions s
                       SET status = 'FAILED', exit_code = 'FAILED', exit_message = $2, end_time = now(),
                           last_updated = now(), version = s.version + 1
                      FROM failed f
                     WHERE s.job_execution_id = f.id AND s.status IN ('STARTING', 'STARTED', 'STOPPING')
                )
                SELECT \(Self.jobExecutionColumns) FROM failed ORDER BY id
                """, [.text(workerId), .text(message)]
            ).map(Self.jobExecution(from:))
        }
    }
}
