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

extension PostgresMigrations {
    /// Migration 8: a worker records a token of its own process with its row, so that a second live process given
    /// the same id is told apart even on the same host with the same process id (two containers sharing the host's
    /// network), and a heartbeat only counts for the process that holds the row. Null for rows registered before.
    static func workerToken(quotedSchema schema: String) -> PostgresMigration {
        PostgresMigration(
            version: 8, name: "worker token", statements: ["ALTER TABLE \(schema).workers ADD COLUMN token text"])
    }
}
