extension PostgresMigrations {
    /// Migration 5: indexes for listing executions by status, newest first (`GET /api/executions?status=`), with or
    /// without a job, so that a page costs the same whether the table holds a thousand executions or millions.
    ///
    /// The unfiltered list walks the primary key backwards and the by-job list `job_executions_by_job`; these two
    /// cover the status filters (a rare status would otherwise scan the whole table for its few rows).
    static func executionFilters(quotedSchema schema: String) -> PostgresMigration {
        PostgresMigration(
            version: 5, name: "execution list filters",
            statements: [
                "CREATE INDEX job_executions_by_status ON \(schema).job_executions (status, id DESC)",
                """
                CREATE INDEX job_executions_by_job_status ON \(schema).job_executions (job_name, status, id DESC)
                """,
            ])
    }
}
