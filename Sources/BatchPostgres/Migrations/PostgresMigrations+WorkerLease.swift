extension PostgresMigrations {
    /// Migration 7: a worker records its lease (`--lease`, in seconds), so that every sweep judges a worker by its own
    /// lease, not the sweeper's: a fleet may mix leases. Null for rows registered before, which are judged by the
    /// sweeper's lease as before.
    static func workerLease(quotedSchema schema: String) -> PostgresMigration {
        PostgresMigration(
            version: 7, name: "worker lease",
            statements: [
                "ALTER TABLE \(schema).workers ADD COLUMN lease_seconds double precision CHECK (lease_seconds > 0)"
            ])
    }
}
