import Batch

extension PostgresJobRepository {
    /// See `JobRepository.startStep(_:)`: the job execution's change, and the new step execution's insert with the
    /// previous step execution's lookup, in one pipeline — one round trip, one implicit transaction, two statements.
    ///
    /// The insert decides for itself, on the rows as they are after the change: it creates the step execution only
    /// when the job execution is STARTING or STARTED, the change (when there is one) was applied by this very
    /// transaction (`xmin` is its id: a stale version changed nothing, so nothing is created), and the step's last
    /// execution did not complete or the step runs again.
    public func startStep(_ start: StepStart) async throws -> StepStartResult {
        try await repositoryCall("start step '\(start.stepName)' of job execution \(start.jobExecutionId)") {
            var statements: [PipelinedStatement] = []
            if let change = start.jobExecution {
                statements.append(PipelinedStatement(updateJobExecutionSQL, Self.jobExecutionValues(change)))
            }
            statements.append(
                PipelinedStatement(
                    startStepSQL,
                    [
                        .int(start.jobExecutionId), .text(start.stepName), .text(start.status.rawValue),
                        .timestamp(start.startTime), .bool(start.runsAgainIfComplete),
                        .bool(start.jobExecution != nil),
                    ]))
            let results: [PostgresRows]
            do {
                results = try await pool.withConnection { connection in try await connection.runPipelined(statements) }
            } catch let error as PostgresError where isOneRunningViolation(error) {
                throw BatchError(
                    .alreadyRunning,
                    "job execution \(start.jobExecutionId) cannot become \(start.jobExecution?.status.rawValue ?? "")"
                        + ": another execution of its instance is running", underlying: error)
            }
            var stored: JobExecution?
            if let change = start.jobExecution {
                guard let row = results[0].first else {
                    throw try await missingOrStale("job execution", table: "job_executions", change.id, change.version)
                }
                stored = try Self.jobExecution(from: row)
            }
            return try Self.stepStartResult(
                results[results.count - 1], stored: stored, jobExecutionId: start.jobExecutionId)
        }
    }

    /// The result of a step start from the rows of ``startStepSQL`` (or ``launchedStepSQL``).
    static func stepStartResult(
        _ rows: PostgresRows, stored: JobExecution?, jobExecutionId: Int64
    ) throws -> StepStartResult {
        var previous: StepExecution?
        var job: PostgresRow?
        for row in rows {
            if try row.decode("previous_row", as: Bool.self) {
                previous = try Self.stepExecution(from: row)
            } else {
                job = row
            }
        }
        guard let row = job else {
            throw BatchError(.executionNotFound, "no job execution \(jobExecutionId)")
        }
        let text = try row.decode("job_status", as: String.self)
        guard let status = BatchStatus(rawValue: text) else {
            throw PostgresError(.decoding, "unknown status '\(text)' in the database")
        }
        let created = try row.decode("id", as: Int64?.self) == nil ? nil : try Self.stepExecution(from: row)
        return StepStartResult(
            jobExecution: stored,
            jobStatus: ExecutionStatusSnapshot(status: status, version: try row.decode("job_version")),
            previous: previous, created: created)
    }

    /// See `JobRepository.endStep(_:jobExecution:)`: both updates in one pipeline — one round trip, one implicit
    /// transaction. The job execution's update applies only when the step execution's did (its `xmin` is this
    /// transaction's id), so a stale step changes nothing.
    public func endStep(_ stepExecution: StepExecution, jobExecution: JobExecution) async throws -> StepEndResult {
        try await repositoryCall("store the outcome of step execution \(stepExecution.id)") {
            let results = try await pool.withConnection { connection in
                try await connection.runPipelined([
                    PipelinedStatement(
                        updateStepExecutionSQL,
                        [.int(stepExecution.id), .int(stepExecution.version)] + Self.stepValues(stepExecution)),
                    PipelinedStatement(
                        updateJobExecutionAfterStepSQL,
                        Self.jobExecutionValues(jobExecution) + [.int(stepExecution.id)]),
                ])
            }
            guard let step = results[0].first else {
                throw try await missingOrStale(
                    "step execution", table: "step_executions", stepExecution.id, stepExecution.version)
            }
            return StepEndResult(
                stepExecution: try Self.stepExecution(from: step),
                jobExecution: try results[1].first.map(Self.jobExecution(from:)))
        }
    }

    /// `UPDATE job_executions` of every column but the instance ($1 id, $2 the version read, then
    /// ``jobExecutionValues(_:)``), returning the stored row; no row when the version moved on.
    var updateJobExecutionSQL: String {
        "UPDATE \(quoted).job_executions \(Self.jobExecutionAssignments) WHERE id = $1 AND version = $2 "
            + "RETURNING \(Self.jobExecutionColumns)"
    }

    /// ``updateJobExecutionSQL`` applied only when this transaction updated the step execution $10.
    private var updateJobExecutionAfterStepSQL: String {
        """
        UPDATE \(quoted).job_executions \(Self.jobExecutionAssignments)
         WHERE id = $1 AND version = $2
           AND EXISTS (SELECT 1 FROM \(quoted).step_executions WHERE id = $10 AND xmin = pg_current_xact_id()::xid)
        RETURNING \(Self.jobExecutionColumns)
        """
    }

    /// What an update may change. The job name, parameters and create time are the launch's and stay as stored:
    /// not sent again, so a status change neither encodes the parameters nor makes the server parse them.
    private static let jobExecutionAssignments = """
        SET status = $3, exit_code = $4, exit_message = $5, start_time = $6, end_time = $7, worker_id = $8,
            context = $9, version = version + 1, last_updated = now()
        """

    /// The values of ``updateJobExecutionSQL``: id, version, then every column it sets.
    static func jobExecutionValues(_ execution: JobExecution) -> [PostgresValue?] {
        [
            .int(execution.id), .int(execution.version), .text(execution.status.rawValue),
            .text(execution.exitCode.storableInPostgres), .text(execution.exitMessage.storableInPostgres),
            execution.startTime.map { .timestamp($0) },
            execution.endTime.map { .timestamp($0) }, execution.workerId.map { .text($0) },
            .json(execution.context.jsonValue.storableInPostgres),
        ]
    }

    /// `UPDATE step_executions` ($1 id, $2 the version read, then ``stepValues(_:)``), returning the stored row.
    var updateStepExecutionSQL: String {
        """
        UPDATE \(quoted).step_executions
           SET status = $3, read_count = $4, write_count = $5, filter_count = $6, commit_count = $7,
               rollback_count = $8, read_skip_count = $9, process_skip_count = $10, write_skip_count = $11,
               start_time = $12, end_time = $13, exit_code = $14, exit_message = $15, context = $16,
               version = version + 1, last_updated = now()
         WHERE id = $1 AND version = $2
        RETURNING \(Self.stepExecutionColumns)
        """
    }

    /// The last execution of a step in an instance ($1 instance, $2 step name).
    var lastStepExecutionSQL: String { lastStepExecutionSQL(instance: "$1") }

    /// ``lastStepExecutionSQL`` for the instance `instance` (a parameter, or a column of an outer query) and the step
    /// name $2.
    private func lastStepExecutionSQL(instance: String) -> String {
        """
        SELECT \(Self.stepExecutionColumns) FROM \(quoted).step_executions
         WHERE job_instance_id = \(instance) AND step_name = $2 ORDER BY id DESC LIMIT 1
        """
    }

    /// Creates a step execution when the rules allow ($1 job execution, $2 step name, $3 status, $4 start time,
    /// $5 whether a completed step runs again, $6 whether this transaction must have updated the job execution).
    /// Its rows: one with `previous_row` false, the job execution's status and version and the new step execution's
    /// columns (NULL when none was created); and, when the step ran before in the instance, one with `previous_row`
    /// true and that last step execution's columns (as it was before this statement). No row when the job execution
    /// does not exist.
    private var startStepSQL: String {
        startStepSQL(
            job: """
                SELECT id, instance_id, status, version,
                       CASE WHEN $6 THEN xmin = pg_current_xact_id()::xid ELSE true END AS changed
                  FROM \(quoted).job_executions WHERE id = $1
                """)
    }

    /// ``startStepSQL`` for the execution the launch statement before it created in the same transaction ($1 job
    /// name, $6 job key instead of the execution and the change flag): the instance's newest execution, which
    /// creates no step execution unless this transaction inserted it.
    var launchedStepSQL: String {
        startStepSQL(
            job: """
                SELECT id, instance_id, status, version, xmin = pg_current_xact_id()::xid AS changed
                  FROM \(quoted).job_executions
                 WHERE instance_id = (SELECT id FROM \(quoted).job_instances WHERE job_name = $1 AND job_key = $6)
                 ORDER BY id DESC LIMIT 1
                """)
    }

    /// The step start statement around `job`, the query of the job execution's id, instance, status, version and
    /// whether this transaction changed it (`changed`).
    private func startStepSQL(job: String) -> String {
        """
        WITH job AS (
            \(job)
        ), previous AS (
            SELECT p.* FROM job, LATERAL (\(lastStepExecutionSQL(instance: "job.instance_id"))) p
        ), created AS (
            INSERT INTO \(quoted).step_executions (job_execution_id, job_instance_id, step_name, status, start_time,
                                                 context)
            SELECT job.id, job.instance_id, $2, $3, $4,
                   CASE WHEN previous.status = 'COMPLETED' THEN '{}'::jsonb
                        ELSE coalesce(previous.context, '{}'::jsonb) END
              FROM job LEFT JOIN previous ON true
             WHERE job.status IN ('STARTING', 'STARTED') AND job.changed
               AND (previous.status IS DISTINCT FROM 'COMPLETED' OR $5)
            RETURNING \(Self.stepExecutionColumns)
        )
        SELECT false AS previous_row, job.status AS job_status, job.version AS job_version, created.*
          FROM job LEFT JOIN created ON true
        UNION ALL
        SELECT true, NULL, NULL, previous.* FROM previous
        """
    }
}
