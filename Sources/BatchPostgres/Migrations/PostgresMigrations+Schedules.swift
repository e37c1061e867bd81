extension PostgresMigrations {
    /// Migration 3: timers (issue 12) — the schedules, one row per slot fired, and the outbox of start commands.
    ///
    /// - `schedules`: one row per schedule; the scheduler's tick finds the due ones through the partial index on
    ///   `next_fire_time` (paused schedules are not in it), by the database clock.
    /// - `schedule_firings`: a slot fires once, decided by the primary key `(schedule, slot)`; the job name and
    ///   instance key of the start find its execution (and an execution's firing).
    /// - `schedule_outbox`: the start command of each firing, written in the same transaction as the firing and
    ///   deleted once the broker confirmed it; rows left are re-sent by any worker (`sent_at` is not used).
    static func schedules(quotedSchema schema: String) -> PostgresMigration {
        PostgresMigration(
            version: 3, name: "schedules",
            statements: [
                """
                CREATE TABLE \(schema).schedules (
                    name           text        PRIMARY KEY,
                    job            text        NOT NULL,
                    cron           text        NOT NULL,
                    time_zone      text        NOT NULL DEFAULT 'UTC',
                    template       jsonb       NOT NULL DEFAULT '{}',
                    misfire        text        NOT NULL DEFAULT 'once' CHECK (misfire IN ('skip', 'once', 'all')),
                    paused         boolean     NOT NULL DEFAULT false,
                    origin         text        NOT NULL CHECK (origin IN ('code', 'cli')),
                    next_fire_time timestamptz,
                    last_slot      timestamptz,
                    created        timestamptz NOT NULL DEFAULT now(),
                    updated        timestamptz NOT NULL DEFAULT now()
                )
                """,
                // The tick's one query when nothing is due.
                "CREATE INDEX schedules_due ON \(schema).schedules (next_fire_time) WHERE NOT paused",
                """
                CREATE TABLE \(schema).schedule_firings (
                    schedule text        NOT NULL REFERENCES \(schema).schedules (name) ON DELETE CASCADE,
                    slot     timestamptz NOT NULL,
                    job_name text        NOT NULL,
                    job_key  text,
                    fired_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (schedule, slot)
                )
                """,
                // The firing of an execution (`swiftbatch execution ID`).
                "CREATE INDEX schedule_firings_by_instance ON \(schema).schedule_firings (job_name, job_key)",
                """
                CREATE TABLE \(schema).schedule_outbox (
                    id           bigserial   PRIMARY KEY,
                    schedule     text        NOT NULL,
                    slot         timestamptz NOT NULL,
                    command      jsonb       NOT NULL,
                    created_at   timestamptz NOT NULL DEFAULT now(),
                    attempted_at timestamptz NOT NULL DEFAULT now(),
                    sent_at      timestamptz
                )
                """,
                // Unsent starts, oldest attempt first (the re-send sweep).
                """
                CREATE INDEX schedule_outbox_unsent ON \(schema).schedule_outbox (attempted_at)
                    WHERE sent_at IS NULL
                """,
            ])
    }
}
