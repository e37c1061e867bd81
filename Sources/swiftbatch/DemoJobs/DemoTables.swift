import BatchPostgres

extension DemoJobs {
    /// Creates the demo schema and tables if missing, under a transaction-scoped advisory lock so concurrent
    /// first runs do not race (run it inside a transaction).
    static func createTables(on connection: PostgresConnection) async throws {
        _ = try await connection.query("SELECT pg_advisory_xact_lock(hashtext('batch_demo.tables'))")
        for statement in [
            "CREATE SCHEMA IF NOT EXISTS \(schema)",
            """
            CREATE TABLE IF NOT EXISTS \(schema).count_items (
                instance_id bigint NOT NULL, execution_id bigint NOT NULL, n integer NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS count_items_instance ON \(schema).count_items (instance_id, n)",
            """
            CREATE TABLE IF NOT EXISTS \(schema).ledger (
                day date NOT NULL, transaction_id integer NOT NULL, account integer NOT NULL,
                amount_cents bigint NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS ledger_day_account ON \(schema).ledger (day, account)",
            """
            CREATE TABLE IF NOT EXISTS \(schema).balances (
                day date NOT NULL, account integer NOT NULL, balance_cents bigint NOT NULL, entries integer NOT NULL,
                PRIMARY KEY (day, account))
            """,
        ] {
            _ = try await connection.query(statement)
        }
    }
}
