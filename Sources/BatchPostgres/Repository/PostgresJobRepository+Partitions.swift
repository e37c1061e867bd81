import Batch
import Foundation

extension PostgresJobRepository {
    /// See `JobRepository.stepExecution(id:)`.
    public func stepExecution(id: Int64) async throws -> StepExecution? {
        try await repositoryCall("read step execution \(id)") {
            try await select(
                "SELECT \(Self.stepExecutionColumns) FROM \(quoted).step_executions WHERE id = $1", [.int(id)]
            ).first.map(Self.stepExecution(from:))
        }
    }

    /// See `JobRepository.createStepExecutions(_:)`: one transaction, one insert per step execution. Not pipelined:
    /// an insert that finds no job execution inserts nothing without failing, so a pipeline would commit the others,
    /// where this transaction rolls them back.
    public func createStepExecutions(_ stepExecutions: [StepExecution]) async throws -> [StepExecution] {
        guard !stepExecutions.isEmpty else { return [] }
        return try await repositoryCall("create \(stepExecutions.count) step executions") {
            try await pool.withConnection { connection in
                try await connection.withTransaction { connection in
                    var created: [StepExecution] = []
                    for step in stepExecutions {
                        let rows = try await connection.query(
                            insertStepExecutionSQL, Self.insertValues(step), prepared: true)
                        guard let row = rows.first else {
                            throw BatchError(.executionNotFound, "no job execution \(step.jobExecutionId)")
                        }
                        created.append(try Self.stepExecution(from: row))
                    }
                    return created
                }
            }
        }
    }

    /// See `JobRepository.claimPartition(stepExecutionId:workerId:)`: one statement. The partition row is locked, so
    /// two workers taking the same partition (a message delivered twice) cannot both win.
    public func claimPartition(stepExecutionId: Int64, workerId: String) async throws -> PartitionClaim {
        try await repositoryCall("claim partition \(stepExecutionId)") {
            let rows = try await select(
                """
                WITH target AS (
                    SELECT s.id, s.status AS step_status, j.status AS job_status
                      FROM \(quoted).step_executions s
                      JOIN \(quoted).job_executions j ON j.id = s.job_execution_id
                     WHERE s.id = $1
                       FOR UPDATE OF s
                ), claimed AS (
                    UPDATE \(quoted).step_executions s
                       SET status = 'STARTED', worker_id = $2, attempt = s.attempt + 1, start_time = now(),
                           version = s.version + 1, last_updated = now()
                      FROM target t
                     WHERE s.id = t.id AND t.step_status = 'STARTING' AND t.job_status IN ('STARTING', 'STARTED')
                    RETURNING s.*
                ), stopped AS (
                    UPDATE \(quoted).step_executions s
                       SET status = 'STOPPED', exit_code = 'STOPPED',
                           exit_message = 'the job execution is ' || t.job_status || '; the partition did not run',
                           end_time = now(), version = s.version + 1, last_updated = now()
                      FROM target t
                     WHERE s.id = t.id AND t.step_status = 'STARTING'
                       AND t.job_status NOT IN ('STARTING', 'STARTED')
                    RETURNING s.*
                )
                SELECT 'claimed' AS outcome, \(Self.stepExecutionColumns) FROM claimed
                UNION ALL SELECT 'stopped', \(Self.stepExecutionColumns) FROM stopped
                UNION ALL SELECT 'waiting', \(Self.stepExecutionColumns) FROM \(quoted).step_executions
                 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM claimed) AND NOT EXISTS (SELECT 1 FROM stopped)
                """, [.int(stepExecutionId), .text(workerId)])
            guard let row = rows.first else { return .notFound }
            let step = try Self.stepExecution(from: row)
            switch try row.decode("outcome", as: String.self) {
            case "claimed": return .claimed(step)
            case "stopped": return .jobNotRunning(step)
            default: return .notWaiting(step)
            }
        }
    }

    /// See `JobRepository.handBackPartition(_:)`: one statement; the counters and context stay as the partition's
    /// last update stored them.
    public func handBackPartition(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await repositoryCall("hand back partition \(stepExecution.id)") {
            let rows = try await select(
                """
                UPDATE \(quoted).step_executions
                   SET status = 'STARTING', worker_id = NULL, attempt = GREATEST(attempt - 1, 0), end_time = NULL,
                       exit_code = '', exit_message = '', version = version + 1, last_updated = now()
                 WHERE id = $1 AND version = $2
                RETURNING \(Self.stepExecutionColumns)
                """, [.int(stepExecution.id), .int(stepExecution.version)])
            if let row = rows.first { return try Self.stepExecution(from: row) }
            throw try await missingOrStale(
                "step execution", table: "step_executions", stepExecution.id, stepExecution.version)
        }
    }

    /// See `JobRepository.reclaimLostPartitions(jobExecutionId:lease:maxAttempts:)`: one statement, by the database
    /// clock; rows another sweep holds are skipped.
    public func reclaimLostPartitions(
        jobExecutionId: Int64, lease: Duration, maxAttempts: Int
    ) async throws -> PartitionReclaim {
        try await repositoryCall("send again the partitions of lost workers") {
            let rows = try await select(
                """
                WITH lost AS (
                    SELECT s.id, s.worker_id, s.attempt, j.status = 'STOPPING' AS stopping
                      FROM \(quoted).step_executions s
                      JOIN \(quoted).job_executions j ON j.id = s.job_execution_id
                      LEFT JOIN \(quoted).workers w ON w.id = s.worker_id
                     WHERE s.job_execution_id = $1 AND s.worker_id IS NOT NULL
                       AND s.status IN ('STARTED', 'STOPPING') AND j.status IN ('STARTING', 'STARTED', 'STOPPING')
                       AND (w.id IS NULL OR w.heartbeat < now() - make_interval(secs => \(Self.leaseSeconds(of: "w", else: "$2"))))
                       FOR UPDATE OF s SKIP LOCKED
                ), updated AS (
                    UPDATE \(quoted).step_executions s
                       SET status = CASE WHEN l.stopping THEN 'STOPPED' WHEN l.attempt >= $3 THEN 'FAILED'
                                         ELSE 'STARTING' END,
                           exit_code = CASE WHEN l.stopping THEN 'STOPPED' WHEN l.attempt >= $3 THEN 'FAILED'
                                            ELSE s.exit_code END,
                           exit_message = CASE
                               WHEN l.stopping THEN 'worker ' || l.worker_id || ' was lost (no heartbeat within the '
                                    || 'lease) while the job execution was stopping'
                               WHEN l.attempt >= $3
                               THEN 'worker ' || l.worker_id || ' was lost (no heartbeat within the lease) on attempt '
                                    || l.attempt || ' of ' || $3::text || '; the partition is not sent again'
                               ELSE s.exit_message END,
                           end_time = CASE WHEN l.stopping OR l.attempt >= $3 THEN now() ELSE s.end_time END,
                           worker_id = CASE WHEN l.stopping OR l.attempt >= $3 THEN s.worker_id ELSE NULL END,
                           version = s.version + 1, last_updated = now()
                      FROM lost l WHERE s.id = l.id
                    RETURNING s.*
                )
                SELECT \(Self.stepExecutionColumns) FROM updated ORDER BY id
                """, [.int(jobExecutionId), .double(lease.timeInterval), .int(maxAttempts)])
            var result = PartitionReclaim()
            for step in try rows.map(Self.stepExecution(from:)) {
                switch step.status {
                case .failed: result.failed.append(step)
                case .stopped: result.stopped.append(step)
                default: result.resent.append(step)
                }
            }
            for step in result.resent + result.failed + result.stopped {
                logger.warning(
                    "a partition's worker was lost",
                    metadata: [
                        "step.execution.id": "\(step.id)", "step.name": "\(step.stepName)",
                        "attempt": "\(step.attempt)",
                        "outcome": "\(step.status == .starting ? "sent again" : step.status.rawValue)",
                    ])
            }
            return result
        }
    }
}
