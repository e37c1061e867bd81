import Batch
import Foundation

extension PostgresJobRepository {
    /// Registers a worker (or refreshes its row when the id is reused by the same process, or by any once the row's
    /// holder missed its lease): host, process id, start time and a first heartbeat, all by the database clock.
    ///
    /// - Parameters:
    ///   - id: the worker's unique id (the `workerId` of the executions it runs).
    ///   - host: its host name.
    ///   - pid: its process id.
    ///   - capacity: how many jobs and partitions it runs at once (its `--concurrency`), when it has one.
    ///   - lease: how long it may go without a heartbeat before the sweeps find it lost (its `--lease`); nil leaves
    ///     that to each sweeper's own lease.
    ///   - token: a value of this process's own (random, made at its start), telling it apart from another process
    ///     with the same id, host and process id; nil compares the host and process id instead.
    /// - Throws: ``BatchError/Code/workerIdInUse`` when another live process holds the id.
    public func registerWorker(
        id: String, host: String, pid: Int, capacity: Int? = nil, lease: Duration? = nil, token: String? = nil
    ) async throws {
        try await repositoryCall("register worker \(id)") {
            let registered = try await select(
                """
                INSERT INTO \(quoted).workers AS w (id, host, pid, capacity, lease_seconds, token, started, heartbeat)
                VALUES ($1, $2, $3, $4, $5, $6, now(), now())
                ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, capacity = EXCLUDED.capacity,
                                               lease_seconds = EXCLUDED.lease_seconds, token = EXCLUDED.token,
                                               started = now(), heartbeat = now()
                 WHERE CASE WHEN w.token IS NOT NULL AND EXCLUDED.token IS NOT NULL THEN w.token = EXCLUDED.token
                            ELSE w.host = EXCLUDED.host AND w.pid = EXCLUDED.pid END
                    OR w.heartbeat < now() - make_interval(
                           secs => \(Self.leaseSeconds(of: "w", else: "coalesce(EXCLUDED.lease_seconds, 10)")))
                RETURNING id
                """,
                [
                    .text(id), .text(host), .int(pid), capacity.map { .int($0) },
                    lease.map { .double($0.timeInterval) },
                    token.map { .text($0) },
                ])
            guard registered.isEmpty else { return }
            let holder = try await select(
                """
                SELECT host, pid, extract(epoch FROM now() - heartbeat)::float8 AS age,
                       \(Self.leaseSeconds(of: "workers", else: "10"))::float8 AS lease
                  FROM \(quoted).workers WHERE id = $1
                """, [.text(id)]
            ).first
            throw BatchError.workerIdInUse(
                id, host: try holder?.decode("host") ?? "?", pid: try holder?.decode("pid") ?? 0,
                heartbeatAge: .seconds(try holder?.decode("age", as: Double.self) ?? 0),
                lease: .seconds(try holder?.decode("lease", as: Double.self) ?? 10))
        }
    }

    /// Records that a worker is alive (`heartbeat = now()` by the database clock).
    ///
    /// - Parameters:
    ///   - id: the worker.
    ///   - token: the token it registered with: a row another process took over (once this one missed its lease)
    ///     is not its own; nil for any row of that id.
    /// - Returns: false when the worker has no row of its own (it was never registered, was removed, or another
    ///   process took the id): register it again.
    @discardableResult
    public func heartbeat(workerId id: String, token: String? = nil) async throws -> Bool {
        try await repositoryCall("record the heartbeat of worker \(id)") {
            try await select(
                """
                UPDATE \(quoted).workers SET heartbeat = now()
                 WHERE id = $1 AND ($2::text IS NULL OR token IS NULL OR token = $2)
                """, [.text(id), token.map { .text($0) }]
            ).affectedRows == 1
        }
    }

    /// Removes a worker's row (at graceful shutdown, once its executions have ended).
    public func removeWorker(id: String) async throws {
        try await repositoryCall("remove worker \(id)") {
            try await select("DELETE FROM \(quoted).workers WHERE id = $1", [.text(id)])
        }
    }

    /// `failed_steps`, the common table expression that ends the running step executions of the job executions a
    /// statement just failed, given as `message` (`id`, `worker_id`, `text`): the worker's own steps FAILED; its
    /// remote partitions, and those no worker took yet, STOPPED; remote partitions other workers run are left to them
    /// (they stop at their next chunk, seeing the job no longer runs).
    var endStepsOfFailedExecutions: String {
        """
        failed_steps AS (
            UPDATE \(quoted).step_executions s
               SET status = CASE WHEN s.worker_id IS NOT NULL OR (s.status = 'STARTING'
                                  AND position(':' IN s.step_name) > 0) THEN 'STOPPED' ELSE 'FAILED' END,
                   exit_code = CASE WHEN s.worker_id IS NOT NULL OR (s.status = 'STARTING'
                                  AND position(':' IN s.step_name) > 0) THEN 'STOPPED' ELSE 'FAILED' END,
                   exit_message = m.text, end_time = now(), last_updated = now(), version = s.version + 1
              FROM message m
             WHERE s.job_execution_id = m.id AND s.status IN ('STARTING', 'STARTED', 'STOPPING')
               AND (s.worker_id IS NULL OR s.worker_id = m.worker_id)
        )
        """
    }

    /// The seconds of lease the sweeps judge the worker row `alias` by: the lease it registered with, else
    /// `fallback` (the sweeper's, a parameter) for a row that has none.
    static func leaseSeconds(of alias: String, else fallback: String) -> String {
        "coalesce(\(alias).lease_seconds, \(fallback))"
    }

    /// Marks FAILED every running (STARTING, STARTED, STOPPING) job execution whose worker has missed its lease:
    /// its heartbeat is older than the lease it registered with (else `lease`) by the database clock, or it has no
    /// worker row at all. Their running
    /// step executions are marked FAILED too, except remote partitions: those the lost worker ran or no worker took
    /// yet end STOPPED, those other workers run stop by themselves at their next chunk (and, should their worker be
    /// lost as well, end STOPPED at a later sweep). The exit message names the lost worker and its last heartbeat, the
    /// version moves on (so a worker that was only slow fails loudly on its next update), and the instance can be
    /// restarted. One statement.
    ///
    /// - Parameter lease: how long a worker that registered no lease of its own may go without a heartbeat (the
    ///   worker's default: 10 s).
    /// - Returns: the executions marked FAILED, as stored.
    @discardableResult
    public func failExecutionsOfLostWorkers(lease: Duration = .seconds(10)) async throws -> [JobExecution] {
        let seconds = lease.timeInterval
        let workerLease = Self.leaseSeconds(of: "w", else: "$1")
        let failed = try await repositoryCall("fail the executions of lost workers") {
            try await select(
                """
                WITH lost AS (
                    SELECT e.id, e.worker_id, w.heartbeat, \(workerLease) AS lease
                      FROM \(quoted).job_executions e
                      LEFT JOIN \(quoted).workers w ON w.id = e.worker_id
                     WHERE e.status IN ('STARTING', 'STARTED', 'STOPPING')
                       AND e.worker_id IS NOT NULL
                       AND (w.id IS NULL OR w.heartbeat < now() - make_interval(secs => \(workerLease)))
                       FOR UPDATE OF e SKIP LOCKED
                ), message AS (
                    SELECT id, worker_id, 'worker ' || worker_id || ' was lost: '
                           || CASE WHEN heartbeat IS NULL THEN 'it has no worker record'
                                   ELSE 'no heartbeat since ' || to_char(heartbeat AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS"Z"') END
                           || ' (lease ' || lease::text || ' s)' AS text
                      FROM lost
                ), failed AS (
                    UPDATE \(quoted).job_executions e
                       SET status = 'FAILED', exit_code = 'FAILED', exit_message = m.text, end_time = now(),
                           last_updated = now(), version = e.version + 1
                      FROM message m WHERE e.id = m.id
                    RETURNING e.*
                ), \(endStepsOfFailedExecutions), orphaned_partitions AS (
                    -- Remote partitions of an execution that already ended, whose own worker was lost too.
                    UPDATE \(quoted).step_executions s
                       SET status = 'STOPPED', exit_code = 'STOPPED', end_time = now(), last_updated = now(),
                           exit_message = 'the job execution ended and worker ' || s.worker_id || ' was lost',
                           version = s.version + 1
                      FROM \(quoted).job_executions j
                     WHERE j.id = s.job_execution_id AND s.worker_id IS NOT NULL
                       AND s.status IN ('STARTING', 'STARTED', 'STOPPING')
                       AND j.status NOT IN ('STARTING', 'STARTED', 'STOPPING')
                       AND NOT EXISTS (SELECT 1 FROM \(quoted).workers w WHERE w.id = s.worker_id
                                          AND w.heartbeat >= now() - make_interval(secs => \(workerLease)))
                )
                SELECT \(Self.jobExecutionColumns) FROM failed ORDER BY id
                """, [.double(seconds)]
            ).map(Self.jobExecution(from:))
        }
        for execution in failed {
            logger.warning(
                "marked the execution of a lost worker FAILED",
                metadata: [
                    "job.name": "\(execution.jobName)", "job.execution.id": "\(execution.id)",
                    "worker.id": "\(execution.workerId ?? "")", "exit.message": "\(execution.exitMessage)",
                ])
        }
        return failed
    }
}
