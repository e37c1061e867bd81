import Batch

extension PostgresJobRepository {
    /// Marks FAILED every running (STARTING, STARTED, STOPPING) job execution of `workerId`, and ends their running
    /// step executions as the lost-worker sweep does (its own FAILED, remote partitions it ran or no worker took yet
    /// STOPPED, those other workers run left to stop at their next chunk), with `message`: what a worker does when its
    /// shutdown grace ends with jobs still running, so they can be restarted at once instead of after the lease. One
    /// statement.
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
                ), message AS (
                    SELECT id, worker_id, $2::text AS text FROM failed
                ), \(endStepsOfFailedExecutions)
                SELECT \(Self.jobExecutionColumns) FROM failed ORDER BY id
                """, [.text(workerId), .text(message)]
            ).map(Self.jobExecution(from:))
        }
    }
}
