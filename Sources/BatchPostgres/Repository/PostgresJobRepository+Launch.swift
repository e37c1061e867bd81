import Batch

extension PostgresJobRepository {
    /// How many times a launch is tried again when a concurrent launch of the same instance committed after it
    /// began (a serialization failure): each attempt sees the other's execution, so the second one decides.
    static let launchAttempts = 10

    /// Finds or creates the instance, applies the start rules and inserts the STARTING execution in one statement,
    /// sent with `BEGIN ISOLATION LEVEL REPEATABLE READ` and `COMMIT` in one pipeline: one round trip, however many
    /// executions the instance already has (the last one is found through `job_executions_by_instance`).
    ///
    /// Every launch writes the instance row (an insert, or an update to the same values), so two launches of one
    /// instance serialise on it; at REPEATABLE READ the later one, whose snapshot cannot see the earlier one's
    /// execution, fails with a serialization failure instead of deciding on stale rows, and is tried again with a
    /// fresh snapshot. The partial unique index on running executions backs this up. With `newInstanceOnly` an
    /// instance that has any execution gets none (a scheduled slot's start delivered twice).
    func launch(
        jobName: String, jobKey: String, parameters: JobParameters, workerId: String?, newInstanceOnly: Bool = false
    ) async throws -> JobExecution {
        try await launchUnwrapped(
            JobLaunch(
                jobName: jobName, jobKey: jobKey, parameters: parameters, workerId: workerId,
                newInstanceOnly: newInstanceOnly)
        ).execution
    }

    /// See `JobRepository.launch(_:)`: with a first step, the launch statement creates the execution STARTED and a
    /// second statement in the same pipeline and transaction starts the step by ``startStep(_:)``'s rules — still one
    /// round trip, so a trivial job costs one fewer.
    public func launch(_ request: JobLaunch) async throws -> JobLaunchResult {
        try await repositoryCall("create an execution of job '\(request.jobName)'") {
            try await launchUnwrapped(request)
        }
    }

    private func launchUnwrapped(_ request: JobLaunch) async throws -> JobLaunchResult {
        let jobName = request.jobName
        let first = request.firstStep
        var statements = [
            PipelinedStatement(
                launchSQL,
                [
                    .text(jobName), .text(request.jobKey), .json(JSONValue.object(request.parameters.values)),
                    request.workerId.map { .text($0) }, .bool(request.newInstanceOnly),
                    first.map { .timestamp($0.startTime) },
                ])
        ]
        if let first {
            statements.append(
                PipelinedStatement(
                    launchedStepSQL,
                    [
                        .text(jobName), .text(first.stepName), .text(first.status.rawValue),
                        .timestamp(first.startTime), .bool(first.runsAgainIfComplete), .text(request.jobKey),
                    ]))
        }
        var attempt = 0
        while true {
            attempt += 1
            let results: [PostgresRows]
            do {
                results = try await pool.withConnection { connection in
                    try await connection.runPipelinedTransaction(isolation: .repeatableRead, statements)
                }
            } catch let error as PostgresError
                where error.sqlState == PostgresError.SQLState.serializationFailure && attempt < Self.launchAttempts
            {
                continue
            } catch let error as PostgresError where isOneRunningViolation(error) {
                throw BatchError(
                    .alreadyRunning,
                    "job '\(jobName)' is already running this instance (another execution is running); "
                        + "wait for it or stop it first", underlying: error)
            }
            let row = try results[0].single()
            if try row.decode("id", as: Int64?.self) != nil {
                let execution = try Self.jobExecution(from: row)
                guard first != nil else { return JobLaunchResult(execution: execution, firstStep: nil) }
                return JobLaunchResult(
                    execution: execution,
                    firstStep: try Self.stepStartResult(results[1], stored: execution, jobExecutionId: execution.id))
            }
            let text = try row.decode("last_status", as: String.self)
            guard let status = BatchStatus(rawValue: text) else {
                throw PostgresError(.decoding, "unknown status '\(text)' in the database")
            }
            try StartRules.check(
                lastStatus: status, executionId: try row.decode("last_id"), jobName: jobName,
                newInstanceOnly: request.newInstanceOnly,
                partitionsRunning: try row.decode("last_partitions_running"))
            throw PostgresError(
                .unexpectedResult, "the launch created no execution although the last one is \(status.rawValue)")
        }
    }

    /// The launch statement ($1 job name, $2 key, $3 parameters, $4 worker, $5 new instance only, $6 the start time
    /// of a launch that starts the first step too, else NULL): the new execution's columns — STARTED with that start
    /// time at version 1, else STARTING at version 0; all NULL when the rules refused it — and the last execution's
    /// id and status before it, and whether remote partitions of it still run on workers.
    private var launchSQL: String {
        """
        WITH instance AS (
            INSERT INTO \(quoted).job_instances AS i (job_name, job_key, parameters) VALUES ($1, $2, $3)
            ON CONFLICT (job_name, job_key) DO UPDATE SET job_name = excluded.job_name
            RETURNING i.id
        ), last AS (
            SELECT e.id, e.status, e.context,
                   EXISTS (SELECT 1 FROM \(quoted).step_executions s
                            WHERE s.job_execution_id = e.id AND s.worker_id IS NOT NULL
                              AND s.status IN ('STARTED', 'STOPPING')) AS partitions_running
              FROM instance, LATERAL (
                SELECT id, status, context FROM \(quoted).job_executions
                 WHERE instance_id = instance.id ORDER BY id DESC LIMIT 1) e
        ), created AS (
            INSERT INTO \(quoted).job_executions (instance_id, job_name, status, worker_id, parameters, context,
                                                start_time, version)
            SELECT instance.id, $1, CASE WHEN $6::timestamptz IS NULL THEN 'STARTING' ELSE 'STARTED' END, $4, $3,
                   coalesce(last.context, '{}'), $6, CASE WHEN $6 IS NULL THEN 0 ELSE 1 END
              FROM instance LEFT JOIN last ON true
             WHERE last.status IS NULL
                OR (NOT $5 AND last.status IN ('STOPPED', 'FAILED') AND NOT last.partitions_running)
            RETURNING \(Self.jobExecutionColumns)
        )
        SELECT created.*, last.id AS last_id, last.status AS last_status,
               last.partitions_running AS last_partitions_running
          FROM instance LEFT JOIN last ON true LEFT JOIN created ON true
        """
    }
}
