import Batch

extension PostgresJobRepository {
    /// Marks FAILED the running executions recorded for `workerId` that the worker is not running: created more
    /// than `grace` ago (by the database clock) and not in `running`. Such an orphan appears when the commit of a
    /// new execution succeeded but its answer was lost (the connection dropped at COMMIT): the worker could not
    /// launch it, and its heartbeat would keep the lost-worker sweep away from it forever.
    ///
    /// - Parameters:
    ///   - workerId: the worker asking (it knows what it runs).
    ///   - running: the ids of the executions it runs.
    ///   - grace: how old an execution must be to count (so one being launched right now is left alone).
    /// - Returns: the executions marked FAILED.
    @discardableResult
    public func failOrphanedExecutions(
        workerId: String, running: Set<Int64>, grace: Duration = .seconds(30)
    ) async throws -> [JobExecution] {
        let seconds = grace.timeInterval
        let failed = try await repositoryCall("fail the orphaned executions of worker \(workerId)") {
            try await select(
                """
                UPDATE \(quoted).job_executions
                   SET status = 'FAILED', exit_code = 'FAILED', end_time = now(), last_updated = now(),
                       version = version + 1,
                       exit_message = 'worker ' || worker_id || ' was not running this execution (its start was '
                                      || 'recorded but never launched)'
                 WHERE worker_id = $1 AND status IN ('STARTING', 'STARTED', 'STOPPING')
                   AND NOT (id = ANY($2::int8[])) AND create_time < now() - make_interval(secs => $3)
                RETURNING \(Self.jobExecutionColumns)
                """, [.text(workerId), Self.int8Array(running), .double(seconds)]
            ).map(Self.jobExecution(from:))
        }
        for execution in failed {
            logger.warning(
                "marked an orphaned execution FAILED",
                metadata: ["job.name": "\(execution.jobName)", "job.execution.id": "\(execution.id)"])
        }
        return failed
    }

    /// Marks FAILED the remote partitions recorded as run by `workerId` (STARTED or STOPPING) that the worker is not
    /// running: claimed more than `grace` ago (by the database clock) and not in `running`. Such an orphan appears
    /// when a claim committed but its answer was lost, or when a partition's final update could not be stored: no
    /// one runs it, and its worker's heartbeat keeps its manager's lease sweep away from it, so the manager would
    /// wait for ever. FAILED ends that wait (the job fails, and a restart runs the partition again from its last
    /// chunk); STOPPED when the job is stopping (the partition would have stopped at its next chunk).
    ///
    /// - Parameters:
    ///   - workerId: the worker asking (it knows what it runs).
    ///   - running: the step execution ids of the partitions it runs.
    ///   - grace: how long ago a partition must have been claimed to count (one being launched is left alone).
    /// - Returns: the partitions ended (FAILED, or STOPPED).
    @discardableResult
    public func failOrphanedPartitions(
        workerId: String, running: Set<Int64>, grace: Duration = .seconds(30)
    ) async throws -> [StepExecution] {
        let failed = try await repositoryCall("fail the orphaned partitions of worker \(workerId)") {
            try await select(
                """
                UPDATE \(quoted).step_executions s
                   SET status = CASE WHEN j.status = 'STOPPING' THEN 'STOPPED' ELSE 'FAILED' END,
                       exit_code = CASE WHEN j.status = 'STOPPING' THEN 'STOPPED' ELSE 'FAILED' END,
                       end_time = now(), last_updated = now(), version = s.version + 1,
                       exit_message = 'worker ' || s.worker_id || ' was not running this partition (its claim was '
                                      || 'recorded but it never ran, or its end could not be stored)'
                  FROM \(quoted).job_executions j
                 WHERE j.id = s.job_execution_id AND s.worker_id = $1 AND s.status IN ('STARTED', 'STOPPING')
                   AND NOT (s.id = ANY($2::int8[])) AND s.start_time < now() - make_interval(secs => $3)
                RETURNING \(Self.qualified(Self.stepExecutionColumns, by: "s"))
                """, [.text(workerId), Self.int8Array(running), .double(grace.timeInterval)]
            ).map(Self.stepExecution(from:))
        }
        for partition in failed {
            logger.warning(
                "ended a partition its worker was not running",
                metadata: [
                    "step.name": "\(partition.stepName)", "step.execution.id": "\(partition.id)",
                    "job.execution.id": "\(partition.jobExecutionId)", "status": "\(partition.status.rawValue)",
                ])
        }
        return failed
    }

    /// `ids` as the text of an `int8[]` parameter (`{1,2,3}`), for `= ANY($n::int8[])`.
    private static func int8Array(_ ids: Set<Int64>) -> PostgresValue {
        .text("{" + ids.sorted().map(String.init).joined(separator: ",") + "}")
    }
}
