import Batch
import BatchPostgres
import BatchTestKit
import Foundation
import Logging
import Testing

/// Fails once per key, then lets it through.
final class FailOnce: Sendable {
    private let failed = Locked(Set<String>())

    func shouldFail(_ key: String) -> Bool {
        failed.withLock { $0.insert(key).inserted }
    }
}

struct InjectedFailure: Error, CustomStringConvertible {
    let description: String
}

/// A row of the source and output tables.
struct Row: Sendable, Equatable {
    let id: Int64
    let payload: String
}

/// Writes through another writer (the INSERT or the COPY writer) and then, once, throws after writing the chunk
/// holding `failAfter`: the chunk's rows must vanish with the rolled-back transaction.
struct FailingAfterWriter<Inner: ItemWriter>: ItemWriter where Inner.Item == Row {
    var inner: Inner
    let failAfter: Int64?
    let failOnce: FailOnce

    mutating func write(_ items: [Row], in transaction: any ChunkTransaction) async throws {
        try await inner.write(items, in: transaction)
        if let failAfter, items.contains(where: { $0.id == failAfter }), failOnce.shouldFail("write") {
            throw InjectedFailure(description: "write failed after writing the chunk holding \(failAfter)")
        }
    }
}

@Suite(.database) struct PostgresChunkJobTests {
    /// A job copying `source` into `output` in chunks of 10, reading pages of 7 by key; every tenth row is filtered.
    /// It fails once: in the processor at `processFailAt`, or in the writer after inserting the chunk holding
    /// `writeFailAfter`.
    static func copyJob(
        _ repository: PostgresJobRepository, processFailAt: Int64? = nil, writeFailAfter: Int64? = nil
    ) -> Job {
        let schema = repository.schema
        let pool = repository.pool
        let failOnce = FailOnce()
        return Job("copy") {
            ChunkStep(
                "copy", chunkSize: 10,
                reader: { _ in
                    PostgresChunkJobTests.sourceReader(pool: pool, schema: schema, pageSize: 7)
                },
                processor: { (row: Row) -> Row? in
                    if row.id == processFailAt, failOnce.shouldFail("process") {
                        throw InjectedFailure(description: "processing failed at \(row.id)")
                    }
                    return row.id % 10 == 0 ? nil : row
                },
                writer: { _ in
                    FailingAfterWriter(
                        inner: try PostgresItemWriter<Row>(table: "\(schema).output", columns: ["id", "payload"]) {
                            [.int($0.id), .text($0.payload)]
                        },
                        failAfter: writeFailAfter, failOnce: failOnce)
                })
        }
    }

    /// Reads the rows of the test's `source` table by key, `pageSize` at a time.
    static func sourceReader(pool: PostgresConnectionPool, schema: String, pageSize: Int) -> PostgresItemReader<Row> {
        PostgresItemReader<Row>(
            pool: pool, query: "SELECT id, payload FROM \"\(schema)\".source WHERE id > $1 ORDER BY id LIMIT $2",
            keyColumn: "id", startAfter: .int(0), pageSize: pageSize
        ) { row in Row(id: try row.decode("id"), payload: try row.decode("payload")) }
    }

    static func prepareTables(_ repository: PostgresJobRepository, rows: Int) async throws {
        try await repository.pool.withConnection { connection in
            let schema = "\"\(repository.schema)\""
            try await connection.query("CREATE TABLE \(schema).source (id bigint PRIMARY KEY, payload text NOT NULL)")
            try await connection.query("CREATE TABLE \(schema).output (id bigint NOT NULL, payload text NOT NULL)")
            try await connection.query(
                """
                INSERT INTO \(schema).source (id, payload)
                SELECT n, 'row ' || n || E' it''s "quoted" \\\\ ü' FROM generate_series(1, $1::int) n
                """, [.int(rows)])
        }
    }

    /// The output ids, with how many times each was written.
    static func output(_ repository: PostgresJobRepository) async throws -> [Int64: Int] {
        try await repository.pool.withConnection { connection in
            let rows = try await connection.query(
                "SELECT id, count(*) AS n FROM \"\(repository.schema)\".output GROUP BY id ORDER BY id")
            var counts: [Int64: Int] = [:]
            for row in rows { counts[try row.decode("id")] = try row.decode("n") }
            return counts
        }
    }

    static func expected(through last: Int64) -> [Int64: Int] {
        Dictionary(uniqueKeysWithValues: (1...last).filter { $0 % 10 != 0 }.map { ($0, 1) })
    }

    @Test func aJobFailingInChunkFiveResumesThereAndWritesEveryRowOnce() async throws {
        try await TestDatabase.withRepository { repository in
            try await Self.prepareTables(repository, rows: 95)
            let jobOperator = JobOperator(
                registry: try JobRegistry([Self.copyJob(repository, processFailAt: 45)]), repository: repository,
                logger: TestDatabase.logger)
            let failed = try await jobOperator.start("copy", parameters: JobParameters(["run": 1]))
            #expect(failed.status == .failed)
            #expect(failed.exitMessage.contains("processing failed at 45"))
            #expect(try await Self.output(repository) == Self.expected(through: 40))
            let failedStep = try #require(try await repository.stepExecutions(jobExecutionId: failed.id).first)
            #expect(failedStep.counters.commit == 4)
            #expect(failedStep.counters.read == 40)
            #expect(failedStep.context["reader.lastKey"] == "40")

            let restarted = try await jobOperator.restart(.executionId(failed.id))
            #expect(restarted.status == .completed)
            #expect(try await Self.output(repository) == Self.expected(through: 95), "no row lost, none twice")
            let step = try #require(try await repository.stepExecutions(jobExecutionId: restarted.id).first)
            #expect(step.counters.read == 55)
            #expect(step.counters.write == 50)
            #expect(step.counters.filter == 5)
            #expect(step.counters.commit == 6)
        }
    }

    @Test func aWriteThatFailsAfterInsertingRollsTheChunkBack() async throws {
        try await TestDatabase.withRepository { repository in
            try await Self.prepareTables(repository, rows: 95)
            let jobOperator = JobOperator(
                registry: try JobRegistry([Self.copyJob(repository, writeFailAfter: 55)]), repository: repository,
                logger: TestDatabase.logger)
            let failed = try await jobOperator.start("copy", parameters: JobParameters(["run": 2]))
            #expect(failed.status == .failed)
            // The insert of rows 51...59 ran, then the chunk failed: its rows are gone with its transaction.
            #expect(try await Self.output(repository) == Self.expected(through: 50))
            let failedStep = try #require(try await repository.stepExecutions(jobExecutionId: failed.id).first)
            #expect(failedStep.counters.write == 45)
            #expect(failedStep.counters.commit == 5)

            let restarted = try await jobOperator.restart(.executionId(failed.id))
            #expect(restarted.status == .completed)
            #expect(try await Self.output(repository) == Self.expected(through: 95))
            let payloads = try await repository.pool.withConnection { connection in
                try await connection.query(
                    """
                    SELECT count(*) AS n FROM "\(repository.schema)".output o
                      JOIN "\(repository.schema)".source s USING (id) WHERE o.payload = s.payload
                    """
                ).single().decode("n", as: Int.self)
            }
            #expect(payloads == 86, "payloads copied unchanged")
        }
    }

    @Test func aRowTheTableRefusesIsSkippedThroughASavepointAndTheRestCommits() async throws {
        try await TestDatabase.withRepository { repository in
            try await Self.prepareTables(repository, rows: 95)
            let schema = repository.schema
            try await repository.pool.withConnection { connection in
                try await connection.query(
                    "ALTER TABLE \"\(schema)\".output ADD CONSTRAINT no_37 CHECK (id <> 37)")
            }
            let pool = repository.pool
            let job = Job("copy-skipping") {
                ChunkStep(
                    "copy", chunkSize: 10,
                    reader: { _ in
                        PostgresChunkJobTests.sourceReader(pool: pool, schema: schema, pageSize: 7)
                    },
                    writer: { _ in
                        try PostgresItemWriter<Row>(table: "\(schema).output", columns: ["id", "payload"]) {
                            [.int($0.id), .text($0.payload)]
                        }
                    }
                )
                .skip(SkipPolicy(limit: 3) { ($0 as? PostgresError)?.sqlState == "23514" })
            }
            let jobOperator = JobOperator(
                registry: try JobRegistry([job]), repository: repository, logger: TestDatabase.logger)
            let execution = try await jobOperator.start("copy-skipping")
            #expect(execution.status == .completed, "\(execution.exitMessage)")
            var expected = Dictionary(uniqueKeysWithValues: (Int64(1)...95).map { ($0, 1) })
            expected[37] = nil
            #expect(try await Self.output(repository) == expected, "every row but the refused one, once")
            let step = try #require(try await repository.stepExecutions(jobExecutionId: execution.id).first)
            #expect(step.counters.writeSkip == 1)
            #expect(step.counters.write == 94)
        }
    }

    @Test func theWriterRefusesATransactionThatIsNotPostgres() async throws {
        var writer = try PostgresItemWriter<Int>(table: "t", columns: ["n"]) { [.int(Int64($0))] }
        let memory = InMemoryJobRepository()
        let transaction = try await memory.beginChunk()
        let error = try await #require(throws: BatchError.self) { try await writer.write([1], in: transaction) }
        #expect(error.code == .invalidState)
        #expect(error.message.contains("PostgresJobRepository"))
        await transaction.rollback()
    }

    @Test(arguments: ["t; DROP TABLE x", "a.b.c", "\"t\"", "", "t-1"])
    func theWriterRefusesTableNamesThatAreNotIdentifiers(table: String) {
        #expect(throws: PostgresError.self) {
            _ = try PostgresItemWriter<Int>(table: table, columns: ["n"]) { [.int(Int64($0))] }
        }
    }

    @Test func theReaderResumesAfterTheSavedKey() async throws {
        try await TestDatabase.withRepository { repository in
            try await Self.prepareTables(repository, rows: 30)
            func reader() -> PostgresItemReader<Int64> {
                PostgresItemReader<Int64>(
                    pool: repository.pool,
                    query: "SELECT id FROM \"\(repository.schema)\".source WHERE id > $1 ORDER BY id LIMIT $2",
                    keyColumn: "id", startAfter: .int(0), pageSize: 4
                ) { try $0.decode("id") }
            }
            var first = reader()
            try await first.open(ExecutionContext())
            var read: [Int64] = []
            for _ in 0..<11 { read.append(try #require(try await first.read())) }
            #expect(read == Array(1...11))
            var context = ExecutionContext()
            first.update(&context)
            #expect(context["reader.lastKey"] == "11")

            var second = reader()
            try await second.open(context)
            var rest: [Int64] = []
            while let id = try await second.read() { rest.append(id) }
            #expect(rest == Array(12...30))
        }
    }
}
