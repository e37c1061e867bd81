import Batch
import BatchPostgres
import BatchTestKit
import Foundation
import Logging
import Testing

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
    /// The last id of each chunk written prepared by the inner writer's preparation.
    var preparedChunks: Recorder<Int64>? = nil

    mutating func write(_ items: [Row], in transaction: any ChunkTransaction) async throws {
        try await inner.write(items, in: transaction)
        try failIfAsked(items)
    }

    func preparation() -> ChunkPreparation<Row>? { inner.preparation() }

    mutating func write(_ items: [Row], prepared: PreparedChunk, in transaction: any ChunkTransaction) async throws {
        try await inner.write(items, prepared: prepared, in: transaction)
        preparedChunks?.append(items.last?.id ?? 0)
        try failIfAsked(items)
    }

    private func failIfAsked(_ items: [Row]) throws {
        if let failAfter, items.contains(where: { $0.id == failAfter }), failOnce.shouldFail("write") {
            throw InjectedFailure(description: "write failed after writing the chunk holding \(failAfter)")
        }
    }
}

@Suite(.database) struct PostgresChunkJobTests {
    /// A job `name` copying `source` into `output` in chunks of 10 through the writer `writer` makes for the output
    /// table, reading pages of 7 by key; every tenth row is filtered. It fails once: in the processor at
    /// `processFailAt`, or in the writer after writing the chunk holding `writeFailAfter`. Reading ahead when asked,
    /// recording the chunks the writer wrote prepared in `preparedChunks`.
    static func copyJob<Writer: ItemWriter>(
        _ repository: PostgresJobRepository, name: String = "copy", processFailAt: Int64? = nil,
        writeFailAfter: Int64? = nil, readAhead: Bool = false, preparedChunks: Recorder<Int64>? = nil,
        writer: @escaping @Sendable (String) throws -> Writer
    ) -> Job where Writer.Item == Row {
        let schema = repository.schema
        let pool = repository.pool
        let failOnce = FailOnce()
        return Job(name) {
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
                        inner: try writer("\(schema).output"), failAfter: writeFailAfter, failOnce: failOnce,
                        preparedChunks: preparedChunks)
                }
            ).readAhead(readAhead)
        }
    }

    /// A job `name` copying `source` into `output` in chunks of `chunkSize` (pages of `pageSize`) through the writer
    /// `writer` makes for the output table, skipping up to `limit` rows the table refuses (SQLSTATE 23514) and
    /// recording them with `recorder` when given.
    static func skippingJob<Writer: ItemWriter>(
        _ name: String, _ repository: PostgresJobRepository, chunkSize: Int, pageSize: Int, limit: Int,
        recorder: PostgresSkippedItemRecorder? = nil, writer: @escaping @Sendable (String) throws -> Writer
    ) -> Job where Writer.Item == Row {
        let schema = repository.schema
        let pool = repository.pool
        let step = ChunkStep(
            "copy", chunkSize: chunkSize,
            reader: { _ in PostgresChunkJobTests.sourceReader(pool: pool, schema: schema, pageSize: pageSize) },
            writer: { _ in try writer("\(schema).output") }
        )
        .skip(SkipPolicy(limit: limit) { ($0 as? PostgresError)?.sqlState == "23514" })
        let recording = recorder.map { step.recordSkippedItems($0) } ?? step
        return Job(name) { recording }
    }

    /// The `INSERT` writer of `Row`s into `table`.
    static func insertWriter(_ table: String) throws -> PostgresItemWriter<Row> {
        try PostgresItemWriter<Row>(table: table, columns: ["id", "payload"]) { [.int($0.id), .text($0.payload)] }
    }

    /// The `COPY` writer of `Row`s into `table`.
    static func copyWriter(_ table: String, rowsPerStatement: Int = 250) throws -> PostgresCopyItemWriter<Row> {
        try PostgresCopyItemWriter<Row>(table: table, columns: ["id", "payload"], rowsPerStatement: rowsPerStatement) {
            [.int($0.id), .text($0.payload)]
        }
    }

    /// Makes `output` refuse the row `id`: a check constraint `no_<id>` (SQLSTATE 23514 when it is written).
    static func refuse(_ id: Int64, _ repository: PostgresJobRepository) async throws {
        try await repository.pool.withConnection { connection in
            try await connection.query(
                "ALTER TABLE \"\(repository.schema)\".output ADD CONSTRAINT no_\(id) CHECK (id <> \(id))")
        }
    }

    /// Starts `job` (a ``copyJob(_:name:processFailAt:writeFailAfter:writer:)`` of 95 rows failing in the writer
    /// after 55) and checks the failed execution left rows 1...50 and step counters of 45 writes in 5 commits;
    /// restarts it and checks every row is written once with its payload unchanged.
    /// - Returns: the failed and the restarted execution.
    static func failAfter55ThenRestart(
        _ job: Job, _ repository: PostgresJobRepository, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (failed: JobExecution, restarted: JobExecution) {
        let jobOperator = JobOperator(
            registry: try JobRegistry([job]), repository: repository, logger: TestDatabase.logger)
        let failed = try await jobOperator.start(job.name, parameters: JobParameters(["run": 1]))
        #expect(failed.status == .failed, sourceLocation: sourceLocation)
        // The write of rows 51...59 ran, then the chunk failed: its rows are gone with its transaction.
        #expect(try await output(repository) == expected(through: 50), sourceLocation: sourceLocation)
        let failedStep = try #require(
            try await repository.stepExecutions(jobExecutionId: failed.id).first, sourceLocation: sourceLocation)
        #expect(failedStep.counters.write == 45, sourceLocation: sourceLocation)
        #expect(failedStep.counters.commit == 5, sourceLocation: sourceLocation)

        let restarted = try await jobOperator.restart(.executionId(failed.id))
        #expect(restarted.status == .completed, sourceLocation: sourceLocation)
        #expect(
            try await output(repository) == expected(through: 95), "no row lost, none twice",
            sourceLocation: sourceLocation)
        let payloads = try await repository.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT count(*) AS n FROM "\(repository.schema)".output o
                  JOIN "\(repository.schema)".source s USING (id) WHERE o.payload = s.payload
                """
            ).single().decode("n", as: Int.self)
        }
        #expect(payloads == 86, "payloads copied unchanged", sourceLocation: sourceLocation)
        return (failed, restarted)
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

    /// A key repeated across two consecutive chunks, read ahead: the second chunk's insert fails on the first's
    /// row once that commits (never waits on it forever), for the `INSERT` writer (pipelined) and the `COPY` writer.
    @Test(.timeLimit(.minutes(1)), arguments: [false, true])
    func aKeyRepeatedInTheNextChunkFailsTheStepReadingAhead(copy: Bool) async throws {
        try await TestDatabase.withRepository { repository in
            try await Self.prepareTables(repository, rows: 0)
            let schema = repository.schema
            try await repository.pool.withConnection { connection in
                try await connection.query("ALTER TABLE \"\(schema)\".output ADD PRIMARY KEY (id)")
            }
            // Chunk 3 starts with chunk 2's last key.
            let rows = (1...30).map { Row(id: $0 == 21 ? 20 : Int64($0), payload: "row \($0)") }
            let table = "\(schema).output"
            let job = Job("repeat") {
                ChunkStep(
                    "load", chunkSize: 10, reader: { _ in ArrayItemReader(rows) },
                    writer: { _ in
                        AnyRowWriter(inner: copy ? try Self.copyWriter(table) : try Self.insertWriter(table))
                    }
                ).readAhead()
            }
            let jobOperator = JobOperator(
                registry: try JobRegistry([job]), repository: repository, logger: TestDatabase.logger)
            let execution = try await jobOperator.start("repeat", parameters: JobParameters(["copy": .bool(copy)]))
            #expect(execution.status == .failed)
            #expect(execution.exitMessage.contains("23505") || execution.exitMessage.contains("duplicate key"))
            #expect(
                try await Self.output(repository) == Dictionary(uniqueKeysWithValues: (1...20).map { (Int64($0), 1) }))
            let step = try #require(try await repository.stepExecutions(jobExecutionId: execution.id).first)
            #expect(step.counters.commit == 2)
        }
    }

    @Test func aJobFailingInChunkFiveResumesThereAndWritesEveryRowOnce() async throws {
        try await TestDatabase.withRepository { repository in
            try await Self.prepareTables(repository, rows: 95)
            let jobOperator = JobOperator(
                registry: try JobRegistry([Self.copyJob(repository, processFailAt: 45, writer: Self.insertWriter)]),
                repository: repository,
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
            _ = try await Self.failAfter55ThenRestart(
                Self.copyJob(repository, writeFailAfter: 55, writer: Self.insertWriter), repository)
        }
    }

    @Test func aRowTheTableRefusesIsSkippedThroughASavepointAndTheRestCommits() async throws {
        try await TestDatabase.withRepository { repository in
            try await Self.prepareTables(repository, rows: 95)
            try await Self.refuse(37, repository)
            let job = Self.skippingJob(
                "copy-skipping", repository, chunkSize: 10, pageSize: 7, limit: 3, writer: Self.insertWriter)
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
