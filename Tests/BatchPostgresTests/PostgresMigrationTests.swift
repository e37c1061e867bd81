import BatchPostgres
import Logging
import Testing

@Suite(.database) struct PostgresMigrationTests {
    /// Tables, columns and indexes of a schema, as the catalog describes them.
    static func catalog(_ connection: PostgresConnection, schema: String) async throws -> [String] {
        try await connection.query(
            """
            SELECT 'table ' || table_name || '.' || column_name || ' ' || data_type AS entry
              FROM information_schema.columns WHERE table_schema = $1
            UNION ALL
            SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = $1
            ORDER BY 1
            """, [.text(schema)]
        ).map { try $0.decode("entry", as: String.self) }
    }

    /// Every migration's version, in order.
    static let versions = PostgresMigrations.all(quotedSchema: "x").map(\.version).sorted()

    @Test func createsTheSchemaFromEmptyAndARerunChangesNothing() async throws {
        let configuration = try TestDatabase.configuration()
        defer { Task { try? await TestDatabase.dropSchema(configuration) } }
        try await TestDatabase.withConnection(configuration) { connection in
            let applied = try await PostgresMigrations.run(
                on: connection, schema: configuration.schema, logger: TestDatabase.logger)
            #expect(applied == Self.versions)
            let catalog = try await Self.catalog(connection, schema: configuration.schema)
            for table in ["job_instances", "job_executions", "step_executions", "workers", "schema_migrations"] {
                #expect(catalog.contains { $0.hasPrefix("table \(table).") }, "missing table \(table)")
            }
            let partial = try #require(catalog.first { $0.contains("job_executions_one_running_per_instance") })
            #expect(partial.contains("UNIQUE"))
            #expect(partial.contains("WHERE"))
            #expect(partial.contains("STARTING") && partial.contains("STARTED") && partial.contains("STOPPING"))
            for index in [
                "job_instances_by_name", "job_executions_by_instance", "job_executions_by_job",
                "job_executions_running_by_worker", "step_executions_by_job_execution",
                "step_executions_by_instance_step", "job_executions_by_status", "job_executions_by_job_status",
            ] {
                #expect(catalog.contains { $0.hasPrefix("index \(index):") }, "missing index \(index)")
            }

            let again = try await PostgresMigrations.run(
                on: connection, schema: configuration.schema, logger: TestDatabase.logger)
            #expect(again.isEmpty)
            #expect(try await Self.catalog(connection, schema: configuration.schema) == catalog)
            let recorded = try await connection.query(
                "SELECT version, name FROM \"\(configuration.schema)\".schema_migrations ORDER BY version")
            #expect(try recorded.map { try $0.decode("version", as: Int.self) } == Self.versions)
        }
    }

    @Test func concurrentRunsApplyEachMigrationOnce() async throws {
        let configuration = try TestDatabase.configuration()
        defer { Task { try? await TestDatabase.dropSchema(configuration) } }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await TestDatabase.withConnection(configuration) { connection in
                        try await PostgresMigrations.run(
                            on: connection, schema: configuration.schema, logger: TestDatabase.logger)
                    }
                }
            }
            var all: [[Int]] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(applied.count == 6)
        #expect(
            applied.filter { $0 == Self.versions }.count == 1, "exactly one runner applies the migrations: \(applied)")
        #expect(applied.filter(\.isEmpty).count == 5)
    }

    @Test(arguments: ["Batch", "batch-x", "1batch", "bat\"ch", "a; DROP SCHEMA public", ""])
    func refusesSchemaNamesThatAreNotPlainIdentifiers(schema: String) async throws {
        var configuration = try TestDatabase.configuration()
        configuration.schema = schema
        let error = try #require(throws: PostgresError.self) {
            _ = try PostgresJobRepository(configuration: configuration, logger: TestDatabase.logger)
        }
        #expect(error.code == .invalidConfiguration)
        try await TestDatabase.withConnection(configuration) { connection in
            await #expect(throws: PostgresError.self) {
                try await PostgresMigrations.run(on: connection, schema: schema, logger: TestDatabase.logger)
            }
        }
    }
}
