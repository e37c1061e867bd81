import Logging

/// The schema of swift-batch (job instances, job executions, step executions, workers, skipped items, schedules) as
/// numbered migrations, and the runner that applies them.
///
/// ``run(on:schema:logger:)`` holds a PostgreSQL advisory lock while it works, so any number of processes may run it
/// at once: one applies what is missing, the others wait and then find nothing to do. Running it again changes
/// nothing.
public enum PostgresMigrations {
    /// The first key of the advisory lock (`pg_advisory_lock(key, hashtext(schema))`): fixed, "SWBT".
    static let advisoryLockKey: Int64 = 0x5357_4254

    /// The name of the partial unique index that allows one running execution per instance.
    static let oneRunningIndex = "job_executions_one_running_per_instance"

    /// The migrations for a schema, in order.
    ///
    /// - Parameter schema: the schema name, already validated and quoted.
    public static func all(quotedSchema schema: String) -> [PostgresMigration] {
        let running = "('STARTING', 'STARTED', 'STOPPING')"
        let statuses = "('STARTING','STARTED','STOPPING','STOPPED','COMPLETED','FAILED','ABANDONED','UNKNOWN')"
        return [
            PostgresMigration(
                version: 1, name: "job repository tables",
                statements: [
                    """
                    CREATE TABLE \(schema).job_instances (
                        id          bigserial   PRIMARY KEY,
                        job_name    text        NOT NULL,
                        job_key     text        NOT NULL,
                        parameters  jsonb       NOT NULL DEFAULT '{}',
                        create_time timestamptz NOT NULL DEFAULT now(),
                        CONSTRAINT job_instances_name_key UNIQUE (job_name, job_key)
                    )
                    """,
                    // The most recent instance of a job (stop and restart by job name).
                    "CREATE INDEX job_instances_by_name ON \(schema).job_instances (job_name, id DESC)",
                    """
                    CREATE TABLE \(schema).job_executions (
                        id           bigserial   PRIMARY KEY,
                        instance_id  bigint      NOT NULL REFERENCES \(schema).job_instances (id),
                        job_name     text        NOT NULL,
                        status       text        NOT NULL CHECK (status IN \(statuses)),
                        create_time  timestamptz NOT NULL DEFAULT now(),
                        start_time   timestamptz,
                        end_time     timestamptz,
                        last_updated timestamptz NOT NULL DEFAULT now(),
                        exit_code    text        NOT NULL DEFAULT '',
                        exit_message text        NOT NULL DEFAULT '',
                        version      integer     NOT NULL DEFAULT 0,
                        worker_id    text,
                        parameters   jsonb       NOT NULL DEFAULT '{}',
                        context      jsonb       NOT NULL DEFAULT '{}'
                    )
                    """,
                    // One running execution per instance, decided by the database.
                    """
                    CREATE UNIQUE INDEX \(oneRunningIndex) ON \(schema).job_executions (instance_id)
                        WHERE status IN \(running)
                    """,
                    // The last execution of an instance.
                    "CREATE INDEX job_executions_by_instance ON \(schema).job_executions (instance_id, id DESC)",
                    // Executions of a job, newest first (`swiftbatch executions --job`).
                    "CREATE INDEX job_executions_by_job ON \(schema).job_executions (job_name, id DESC)",
                    // Running executions of a worker (the lost-worker sweep).
                    """
                    CREATE INDEX job_executions_running_by_worker ON \(schema).job_executions (worker_id)
                        WHERE status IN \(running)
                    """,
                    """
                    CREATE TABLE \(schema).step_executions (
                        id                 bigserial   PRIMARY KEY,
                        job_execution_id   bigint      NOT NULL REFERENCES \(schema).job_executions (id),
                        job_instance_id    bigint      NOT NULL REFERENCES \(schema).job_instances (id),
                        step_name          text        NOT NULL,
                        status             text        NOT NULL CHECK (status IN \(statuses)),
                        read_count         bigint      NOT NULL DEFAULT 0,
                        write_count        bigint      NOT NULL DEFAULT 0,
                        filter_count       bigint      NOT NULL DEFAULT 0,
                        commit_count       bigint      NOT NULL DEFAULT 0,
                        rollback_count     bigint      NOT NULL DEFAULT 0,
                        read_skip_count    bigint      NOT NULL DEFAULT 0,
                        process_skip_count bigint      NOT NULL DEFAULT 0,
                        write_skip_count   bigint      NOT NULL DEFAULT 0,
                        start_time         timestamptz NOT NULL DEFAULT now(),
                        end_time           timestamptz,
                        last_updated       timestamptz NOT NULL DEFAULT now(),
                        exit_code          text        NOT NULL DEFAULT '',
                        exit_message       text        NOT NULL DEFAULT '',
                        version            integer     NOT NULL DEFAULT 0,
                        context            jsonb       NOT NULL DEFAULT '{}'
                    )
                    """,
                    // The step executions of a job execution, in creation order.
                    """
                    CREATE INDEX step_executions_by_job_execution ON \(schema).step_executions (job_execution_id, id)
                    """,
                    // The last execution of a step within an instance (what a restart resumes from).
                    """
                    CREATE INDEX step_executions_by_instance_step
                        ON \(schema).step_executions (job_instance_id, step_name, id DESC)
                    """,
                    """
                    CREATE TABLE \(schema).workers (
                        id        text        PRIMARY KEY,
                        host      text        NOT NULL DEFAULT '',
                        pid       integer     NOT NULL DEFAULT 0,
                        started   timestamptz NOT NULL DEFAULT now(),
                        heartbeat timestamptz NOT NULL DEFAULT now()
                    )
                    """,
                ]),
            PostgresMigration(
                version: 2, name: "skipped items",
                statements: [
                    // Items chunk steps skipped, with why (PostgresSkippedItemRecorder): what an operator looks at
                    // and replays.
                    """
                    CREATE TABLE IF NOT EXISTS \(schema).skipped_items (
                        id               bigserial   PRIMARY KEY,
                        job_name         text        NOT NULL,
                        job_execution_id bigint      NOT NULL,
                        step_name        text        NOT NULL,
                        phase            text        NOT NULL CHECK (phase IN ('read', 'process', 'write')),
                        item             jsonb,
                        reason           text        NOT NULL,
                        skipped_at       timestamptz NOT NULL DEFAULT now()
                    )
                    """,
                    """
                    CREATE INDEX IF NOT EXISTS skipped_items_by_job_execution
                        ON \(schema).skipped_items (job_execution_id, id)
                    """,
                ]),
            schedules(quotedSchema: schema),
            remotePartitions(quotedSchema: schema),
            executionFilters(quotedSchema: schema),
            workerCapacity(quotedSchema: schema),
            workerLease(quotedSchema: schema),
            workerToken(quotedSchema: schema),
        ]
    }

    /// Creates the schema if needed and applies the migrations it lacks, under the advisory lock.
    ///
    /// - Parameters:
    ///   - connection: the connection to work on (outside any transaction).
    ///   - schema: the schema name (validated against `^[a-z_][a-z0-9_]*$`).
    ///   - logger: applied migrations are logged at info.
    /// - Returns: the versions applied by this call (empty when the schema was up to date).
    /// - Throws: ``PostgresError``; a failed migration is rolled back entirely.
    @discardableResult
    public static func run(on connection: PostgresConnection, schema: String, logger: Logger) async throws -> [Int] {
        let quoted = try PostgresConfiguration.quotedIdentifier(schema, what: "schema")
        try await connection.query(
            "SELECT pg_advisory_lock($1::int4, hashtext($2))", [.int(advisoryLockKey), .text(schema)])
        do {
            let applied = try await applyPending(on: connection, schema: schema, quoted: quoted, logger: logger)
            try await unlock(connection, schema: schema)
            return applied
        } catch {
            // A broken connection has released its session lock already; otherwise release it here.
            try? await unlock(connection, schema: schema)
            throw error
        }
    }

    private static func unlock(_ connection: PostgresConnection, schema: String) async throws {
        try await connection.query(
            "SELECT pg_advisory_unlock($1::int4, hashtext($2))", [.int(advisoryLockKey), .text(schema)])
    }

    private static func applyPending(
        on connection: PostgresConnection, schema: String, quoted: String, logger: Logger
    ) async throws -> [Int] {
        try await connection.query("CREATE SCHEMA IF NOT EXISTS \(quoted)")
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS \(quoted).schema_migrations (
                version integer     PRIMARY KEY,
                name    text        NOT NULL,
                applied timestamptz NOT NULL DEFAULT now()
            )
            """)
        let done = Set(
            try await connection.query("SELECT version FROM \(quoted).schema_migrations").map {
                try $0.decode("version", as: Int.self)
            })
        var applied: [Int] = []
        for migration in all(quotedSchema: quoted).sorted(by: { $0.version < $1.version })
        where !done.contains(migration.version) {
            // The session's lock is gone if the connection was re-established since it was taken (a server restart
            // between two migrations), and another migrator may have gone on: each migration takes the lock again for
            // its transaction, on the connection in use, and checks under it that it is due (at READ COMMITTED, so
            // that the check's snapshot follows the lock's wait).
            let ran = try await connection.withTransaction(isolation: .readCommitted) { connection -> Bool in
                try await connection.query(
                    "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))", [.int(advisoryLockKey), .text(schema)])
                let due = try await connection.query(
                    "SELECT 1 FROM \(quoted).schema_migrations WHERE version = $1", [.int(migration.version)]
                ).isEmpty
                guard due else { return false }
                for statement in migration.statements {
                    try await connection.query(statement)
                }
                try await connection.query(
                    "INSERT INTO \(quoted).schema_migrations (version, name) VALUES ($1, $2)",
                    [.int(migration.version), .text(migration.name)])
                return true
            }
            guard ran else { continue }
            logger.info(
                "applied migration",
                metadata: [
                    "postgres.schema": "\(schema)", "migration.version": "\(migration.version)",
                    "migration.name": "\(migration.name)",
                ])
            applied.append(migration.version)
        }
        return applied
    }
}
