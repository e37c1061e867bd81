extension PostgresMigrations {
    /// Migration 6: a worker records its capacity (its `--concurrency`), so that its load can be shown against it
    /// (`GET /api/workers`, the dashboard). Null for rows of workers registered before, and for `swiftbatch run`.
    static func workerCapacity(quotedSchema schema: String) -> PostgresMigration {
        PostgresMigration(
            version: 6, name: "worker capacity",
            statements: ["ALTER TABLE \(schema).workers ADD COLUMN capacity integer CHECK (capacity > 0)"])
    }
}
