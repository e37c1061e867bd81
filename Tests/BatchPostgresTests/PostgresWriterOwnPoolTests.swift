import Batch
import BatchTestKit
import Foundation
import Testing

@testable import BatchPostgres

/// The PostgreSQL writers and the skipped-item recorder given the application's own pool: with a repository that is
/// not PostgreSQL (`run --in-memory`) they write in transactions of their own on the pool; with a PostgreSQL
/// repository on the same database they still write in the chunk transaction.
@Suite(.database) struct PostgresWriterOwnPoolTests {
    /// The ids the processor refuses as malformed: skipped and recorded.
    static let malformed: Set<Int64> = [13, 58]

    /// A job copying rows 1…`rows` into the schema's `output` table in chunks of 10 through `writer`, every tenth row
    /// filtered, the ``malformed`` ones skipped and recorded with `recorder`.
    static func job(
        rows: Int64, recorder: PostgresSkippedItemRecorder,
        writer: @escaping @Sendable () throws -> any ItemWriter<Row>
    ) -> Job {
        Job("own-pool") {
            ChunkStep(
                "copy", chunkSize: 10,
                reader: { _ in ArrayItemReader((1...rows).map { Row(id: $0, payload: "row \($0)") }) },
                processor: { (row: Row) -> Row? in
                    if malformed.contains(row.id) { throw BatchError(.malformedRecord, "row \(row.id) is malformed") }
                    return row.id % 10 == 0 ? nil : row
                },
                writer: { _ in AnyRowWriter(inner: try writer()) }
            )
            .skip(SkipPolicy(limit: 5) { ($0 as? BatchError)?.code == .malformedRecord })
            .recordSkippedItems(recorder)
        }
    }

    /// The writer under test, by name.
    static func writer(_ kind: String, schema: String, pool: PostgresConnectionPool) throws -> any ItemWriter<Row> {
        let values: @Sendable (Row) -> [PostgresValue?] = { [.int($0.id), .text($0.payload)] }
        switch kind {
        case "copy":
            return try PostgresCopyItemWriter<Row>(
                table: "\(schema).output", columns: ["id", "payload"], pool: pool, values: values)
        default:
            return try PostgresItemWriter<Row>(
                table: "\(schema).output", columns: ["id", "payload"], pool: pool, values: values)
        }
    }

    @Test(arguments: ["insert", "copy"])
    func aChunkJobOnTheInMemoryRepositoryWritesExactlyTheRowsAndRecordsTheSkips(kind: String) async throws {
        try await TestDatabase.withRepository { database in
            try await PostgresChunkJobTests.prepareTables(database, rows: 0)
            let (schema, pool) = (database.schema, database.pool)
            let memory = InMemoryJobRepository()
            let job = Self.job(rows: 95, recorder: try PostgresSkippedItemRecorder(pool: pool)) {
                try Self.writer(kind, schema: schema, pool: pool)
            }
            let jobOperator = JobOperator(
                registry: try JobRegistry([job]), repository: memory, logger: TestDatabase.logger)
            let execution = try await jobOperator.start("own-pool")
            #expect(execution.status == .completed, "\(execution.exitMessage)")
            var expected = PostgresChunkJobTests.expected(through: 95)
            for id in Self.malformed { expected[id] = nil }
            #expect(try await PostgresChunkJobTests.output(database) == expected, "every row written once")
            let skipped = try await database.skippedItems(jobExecutionId: execution.id)
            #expect(skipped.map(\.reason) == Self.malformed.sorted().map { "row \($0) is malformed" })
            #expect(skipped.allSatisfy { $0.jobName == "own-pool" && $0.stepName == "copy" && $0.phase == .process })
            let step = try #require(try await memory.stepExecutions(jobExecutionId: execution.id).first)
            #expect(step.counters.write == Int64(expected.count))
            #expect(await pool.leasedConnections == 0, "every connection given back")
        }
    }

    @Test(arguments: ["insert", "copy"])
    func aRowTheTableRefusesRollsBackOnlyItsOwnTransactionAndTheRestIsWrittenOnce(kind: String) async throws {
        try await TestDatabase.withRepository { database in
            try await PostgresChunkJobTests.prepareTables(database, rows: 0)
            let (schema, pool) = (database.schema, database.pool)
            try await pool.withConnection { connection in
                try await connection.query("ALTER TABLE \"\(schema)\".output ADD CONSTRAINT no_37 CHECK (id <> 37)")
            }
            let job = Job("own-pool-skipping") {
                ChunkStep(
                    "copy", chunkSize: 10,
                    reader: { _ in ArrayItemReader((1...40).map { Row(id: $0, payload: "row \($0)") }) },
                    writer: { _ in AnyRowWriter(inner: try Self.writer(kind, schema: schema, pool: pool)) }
                )
                .skip(SkipPolicy(limit: 3) { ($0 as? PostgresError)?.sqlState == "23514" })
                .recordSkippedItems { context in
                    try PostgresSkippedItemRecorder(pool: try await context.resource(AppDatabase.self))
                }
            }
            .resource(AppDatabase.self, pool)
            let jobOperator = JobOperator(
                registry: try JobRegistry([job]), repository: InMemoryJobRepository(), logger: TestDatabase.logger)
            let execution = try await jobOperator.start("own-pool-skipping")
            #expect(execution.status == .completed, "\(execution.exitMessage)")
            var expected = Dictionary(uniqueKeysWithValues: (Int64(1)...40).map { ($0, 1) })
            expected[37] = nil
            #expect(try await PostgresChunkJobTests.output(database) == expected, "every row but the refused one, once")
            let skipped = try await database.skippedItems(jobExecutionId: execution.id)
            #expect(skipped.map(\.phase) == [.write])
        }
    }

    @Test func onThePoolsOwnDatabaseTheWritesStayInTheChunkTransaction() async throws {
        try await TestDatabase.withRepository { repository in
            try await PostgresChunkJobTests.prepareTables(repository, rows: 0)
            let schema = repository.schema
            // A pool of its own on the repository's database: the rows must still roll back with a failed chunk.
            let pool = PostgresConnectionPool(configuration: repository.pool.configuration, logger: TestDatabase.logger)
            defer { Task { await pool.shutdown() } }
            let failOnce = FailOnce()
            let job = Job("same-database") {
                ChunkStep(
                    "copy", chunkSize: 10,
                    reader: { _ in ArrayItemReader((1...30).map { Row(id: $0, payload: "row \($0)") }) },
                    writer: { _ in
                        FailingAfterWriter(
                            inner: try PostgresItemWriter<Row>(
                                table: "\(schema).output", columns: ["id", "payload"], pool: pool
                            ) { [.int($0.id), .text($0.payload)] },
                            failAfter: 15, failOnce: failOnce)
                    })
            }
            let jobOperator = JobOperator(
                registry: try JobRegistry([job]), repository: repository, logger: TestDatabase.logger)
            let failed = try await jobOperator.start("same-database")
            #expect(failed.status == .failed)
            #expect(
                try await PostgresChunkJobTests.output(repository)
                    == [Int64: Int](
                        uniqueKeysWithValues: (Int64(1)...10).map { ($0, 1) }), "the failed chunk's rows rolled back")
            let restarted = try await jobOperator.restart(.executionId(failed.id))
            #expect(restarted.status == .completed, "\(restarted.exitMessage)")
            #expect(
                try await PostgresChunkJobTests.output(repository)
                    == [Int64: Int](
                        uniqueKeysWithValues: (Int64(1)...30).map { ($0, 1) }), "every row once after the restart")
            #expect(await pool.openConnections == 0, "the writer's own pool was not used")
        }
    }

    @Test func poolsCountAsTheSameDatabaseOnlyForTheSameHostPortDatabaseAndUser() throws {
        let base = try PostgresConfiguration(url: "postgres://batch:batch@127.0.0.1:5432/shop")
        func pool(_ change: (inout PostgresConfiguration) -> Void) -> PostgresConnectionPool {
            var configuration = base
            change(&configuration)
            return PostgresConnectionPool(configuration: configuration, logger: TestDatabase.logger)
        }
        let original = pool { _ in }
        #expect(PostgresWriteConnection.sameDatabase(original, original))
        #expect(PostgresWriteConnection.sameDatabase(original, pool { $0.schema = "other" }))
        // The loopback by any of its names, and a host in any case, is the same server.
        for host in ["localhost", "LOCALHOST", "::1"] {
            #expect(PostgresWriteConnection.sameDatabase(original, pool { $0.host = host }), "\(host)")
        }
        #expect(
            PostgresWriteConnection.sameDatabase(
                pool { $0.host = "DB.example" }, pool { $0.host = "db.example" }))
        // Another user never writes with the repository's connection (and its rights).
        #expect(!PostgresWriteConnection.sameDatabase(original, pool { $0.user = "app" }))
        #expect(!PostgresWriteConnection.sameDatabase(original, pool { $0.database = "batch" }))
        #expect(!PostgresWriteConnection.sameDatabase(original, pool { $0.port = 5433 }))
        #expect(!PostgresWriteConnection.sameDatabase(original, pool { $0.host = "db.example" }))
    }

    @Test func withoutAPoolTheRecorderStillRefusesATransactionThatIsNotPostgres() async throws {
        let memory = InMemoryJobRepository()
        let transaction = try await memory.beginChunk()
        let item = SkippedItem(
            jobName: "j", jobExecutionId: 1, stepName: "s", phase: .read, item: nil, reason: "bad", time: Date())
        let error = try await #require(throws: BatchError.self) {
            try await PostgresSkippedItemRecorder().record([item], in: transaction)
        }
        #expect(error.code == .invalidState)
        await transaction.rollback()
    }

    /// The `COPY` writer's default statement size: a chunk of up to 1,000 rows goes in 500-row statements, a larger
    /// one in a single statement (each statement is a round trip), counted on the pool's only connection.
    @Test func theCopyWriterSendsAChunkOfMoreThanAThousandRowsAsOneStatement() async throws {
        try await TestDatabase.withRepository(poolSize: 1) { database in
            try await PostgresChunkJobTests.prepareTables(database, rows: 0)
            let (schema, pool) = (database.schema, database.pool)
            let memory = InMemoryJobRepository()
            var nextId: Int64 = 0
            func roundTrips(rows: Int, rowsPerStatement: Int?) async throws -> Int {
                var writer = try PostgresCopyItemWriter<Row>(
                    table: "\(schema).output", columns: ["id", "payload"], rowsPerStatement: rowsPerStatement,
                    pool: pool
                ) { [.int($0.id), .text($0.payload)] }
                let items = (1...rows).map { _ in
                    nextId += 1
                    return Row(id: nextId, payload: "row \(nextId)")
                }
                try await writer.write(Array(items.prefix(1)), in: try await memory.beginChunk())  // types looked up
                let before = try await pool.withConnection { await $0.roundTripCount }
                try await writer.write(Array(items.dropFirst()), in: try await memory.beginChunk())
                return try await pool.withConnection { await $0.roundTripCount } - before
            }
            let thousandByDefault = try await roundTrips(rows: 1_001, rowsPerStatement: nil)
            let thousandIn500s = try await roundTrips(rows: 1_001, rowsPerStatement: 500)
            let thousandIn250s = try await roundTrips(rows: 1_001, rowsPerStatement: 250)
            #expect(thousandByDefault == thousandIn500s, "1,000 rows: two 500-row statements either way")
            #expect(thousandIn250s - thousandByDefault == 2, "1,000 rows: two statements instead of four")
            let twoThousandByDefault = try await roundTrips(rows: 2_001, rowsPerStatement: nil)
            let twoThousandIn250s = try await roundTrips(rows: 2_001, rowsPerStatement: 250)
            #expect(twoThousandIn250s - twoThousandByDefault == 7, "2,000 rows: one statement instead of eight")
            let count = try await pool.withConnection { connection in
                try await connection.query("SELECT count(*) AS n FROM \"\(schema)\".output").single().decode(
                    "n", as: Int.self)
            }
            #expect(count == Int(nextId), "every row written")
        }
    }
}

/// The application's own database, as a job's resource.
enum AppDatabase: ResourceKey {
    typealias Value = PostgresConnectionPool
}

/// A writer of rows through any writer of rows (the test picks the INSERT or the COPY writer at run time).
struct AnyRowWriter: ItemWriter {
    var inner: any ItemWriter<Row>

    mutating func write(_ items: [Row], in transaction: any ChunkTransaction) async throws {
        try await inner.write(items, in: transaction)
    }
}
