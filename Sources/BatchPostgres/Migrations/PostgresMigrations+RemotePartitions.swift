extension PostgresMigrations {
    /// Migration 4: remote partitions (issue 11) — a step execution records the worker that runs it as a remote
    /// partition and how many times a worker took it.
    ///
    /// - `worker_id`: set when a worker claims the partition; NULL for local steps and for a partition waiting for a
    ///   worker (not yet taken, or sent again after its worker was lost).
    /// - `attempt`: one more at every claim; the lease sweep sends a lost partition again until the attempt limit.
    /// - The partial index finds the running partitions of workers (the lease sweeps) without reading ended steps.
    static func remotePartitions(quotedSchema schema: String) -> PostgresMigration {
        PostgresMigration(
            version: 4, name: "remote partitions",
            statements: [
                "ALTER TABLE \(schema).step_executions ADD COLUMN worker_id text",
                "ALTER TABLE \(schema).step_executions ADD COLUMN attempt integer NOT NULL DEFAULT 0",
                """
                CREATE INDEX step_executions_running_by_worker ON \(schema).step_executions (worker_id)
                    WHERE worker_id IS NOT NULL AND status IN ('STARTING', 'STARTED', 'STOPPING')
                """,
            ])
    }
}
