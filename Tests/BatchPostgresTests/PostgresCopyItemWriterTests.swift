import Batch
import BatchPostgres
import BatchTestKit
import Foundation
import Testing

@Suite(.database) struct PostgresCopyItemWriterTests {
    /// Values that trip up text formats: delimiters, quotes, escapes, line ends, Unicode, empty and NULL.
    static let awkwardTexts: [String?] = [
        "plain", "", nil, "tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "\\.", "quote \" '",
        "comma, semicolon;", "ü ß 漢字 😀", String(repeating: "x", count: 70_000), "\u{7F}\u{1}",
    ]

    static func wideRows() -> [Wide] {
        var rows: [Wide] = []
        for (index, text) in awkwardTexts.enumerated() {
            var row = Wide()
            row.big = Int64(index)
            row.text = text
            row.short = text.map { String($0.prefix(5)) }
            row.document = ["text": text.map(JSONValue.string) ?? .null, "n": .int(Int64(index))]
            row.blob = text.map { Array($0.utf8) + [0, 255, 92] }
            rows.append(row)
        }
        var extremes = Wide()
        extremes.small = Int64(Int16.min)
        extremes.medium = Int64(Int32.max)
        extremes.big = Int64.max
        extremes.real = -0.000_001_5
        extremes.flag = false
        extremes.time = Date(timeIntervalSince1970: -1_000_000_000.000_001)
        rows.append(extremes)
        var nulls = Wide(
            small: nil, medium: nil, big: -1, real: nil, flag: nil, text: nil, short: nil, time: nil, document: nil,
            plainJSON: nil, blob: nil, amount: nil, uuid: nil)
        nulls.big = Int64.min
        rows.append(nulls)
        return rows
    }

    /// Copies `rows` into `table` in one committed chunk transaction, and reads them back as text.
    static func roundTrip(
        _ rows: [Wide], table: String, columns: [String], format: PostgresCopyItemWriter<Wide>.Format,
        _ repository: PostgresJobRepository, values: @escaping @Sendable (Wide) -> [PostgresValue?]
    ) async throws -> [[String?]] {
        let writer = try PostgresCopyItemWriter<Wide>(
            table: table, columns: columns, rowsPerStatement: 4, format: format, values: values)
        return try await written(rows, by: writer, table: table, columns: columns, repository)
    }

    /// What the `INSERT` writer stores for the same rows, as text: the reference.
    static func reference(
        _ rows: [Wide], table: String, columns: [String], _ repository: PostgresJobRepository,
        values: @escaping @Sendable (Wide) -> [PostgresValue?]
    ) async throws -> [[String?]] {
        let writer = try PostgresItemWriter<Wide>(table: table, columns: columns, values: values)
        return try await written(rows, by: writer, table: table, columns: columns, repository)
    }

    /// Writes `rows` with `writer` in one chunk transaction, reads `columns` of `table` back as text (ordered by
    /// `big`) in that transaction, and rolls it back.
    static func written<Writer: ItemWriter>(
        _ rows: [Wide], by writer: Writer, table: String, columns: [String], _ repository: PostgresJobRepository
    ) async throws -> [[String?]] where Writer.Item == Wide {
        var writer = writer
        let transaction = try await repository.beginChunk()
        try await writer.write(rows, in: transaction)
        let connection = try #require(transaction as? PostgresChunkTransaction).connection
        let select = "SELECT " + columns.map { "\($0)::text" }.joined(separator: ", ") + " FROM \(table) ORDER BY big"
        let read = try await connection.query(select)
        await transaction.rollback()
        return read.map { row in (0..<columns.count).map { try? row.text(columns[$0]) }.map { $0 ?? nil } }
    }

    @Test(arguments: [PostgresCopyItemWriter<Wide>.Format.automatic, .text])
    func awkwardValuesRoundTripLikeTheInsertWriter(format: PostgresCopyItemWriter<Wide>.Format) async throws {
        try await PostgresItemWriterTests.withWideTable { repository, table in
            let rows = Self.wideRows()
            // All columns: numeric and uuid have no binary encoding here, so the whole copy goes as text.
            let all = PostgresItemWriterTests.columns
            let copied = try await Self.roundTrip(rows, table: table, columns: all, format: format, repository) {
                $0.values
            }
            let expected = try await Self.reference(rows, table: table, columns: all, repository) { $0.values }
            #expect(copied.count == rows.count)
            #expect(copied == expected)
            // The columns with binary encodings: the binary format (automatic) or text.
            let binary = Array(all.prefix(11))
            let copiedBinary = try await Self.roundTrip(
                rows, table: table, columns: binary, format: format, repository
            ) { Array($0.values.prefix(11)) }
            let expectedBinary = try await Self.reference(rows, table: table, columns: binary, repository) {
                Array($0.values.prefix(11))
            }
            #expect(copiedBinary == expectedBinary)
            let longText = try #require(copiedBinary.first { $0[5]?.count == 70_000 })
            #expect(longText[5] == String(repeating: "x", count: 70_000))
        }
    }

    @Test func aValueWithANulCharacterIsRefusedBeforeAnythingIsSent() async throws {
        try await PostgresItemWriterTests.withWideTable { repository, table in
            var writer = try PostgresCopyItemWriter<String>(table: table, columns: ["text"]) { [.text($0)] }
            let transaction = try await repository.beginChunk()
            let error = try await #require(throws: PostgresError.self) {
                try await writer.write(["fine", "nul \u{0} inside"], in: transaction)
            }
            #expect(error.code == .invalidParameter)
            #expect(error.message.contains("item 1"))
            await transaction.rollback()
        }
    }

    @Test func aJobFailingMidWayIsRestartedAndLeavesEveryRowOnce() async throws {
        try await TestDatabase.withRepository { repository in
            try await PostgresChunkJobTests.prepareTables(repository, rows: 95)
            let job = PostgresChunkJobTests.copyJob(repository, name: "copy-in", writeFailAfter: 55) {
                try PostgresChunkJobTests.copyWriter($0, rowsPerStatement: 4)
            }
            let (failed, restarted) = try await PostgresChunkJobTests.failAfter55ThenRestart(job, repository)
            #expect(failed.exitMessage.contains("write failed after writing the chunk holding 55"))
            let step = try #require(try await repository.stepExecutions(jobExecutionId: restarted.id).first)
            #expect(step.counters.write == 41)
        }
    }

    @Test func aJobReadingAheadCopiesPreparedChunksAndRestartsWithEveryRowOnce() async throws {
        try await TestDatabase.withRepository { repository in
            try await PostgresChunkJobTests.prepareTables(repository, rows: 95)
            let prepared = Recorder<Int64>()
            let job = PostgresChunkJobTests.copyJob(
                repository, name: "copy-ahead", writeFailAfter: 55, readAhead: true, preparedChunks: prepared
            ) { try PostgresChunkJobTests.copyWriter($0, rowsPerStatement: 4) }
            let (_, restarted) = try await PostgresChunkJobTests.failAfter55ThenRestart(job, repository)
            // From the third chunk of each run on (read after the run's first write), chunks are encoded ahead: the
            // chunks ending 29...59 in the first run (the failing one too), 79...95 in the restart.
            #expect(prepared.all == [29, 39, 49, 59, 79, 89, 95], "\(prepared.all)")
            let step = try #require(try await repository.stepExecutions(jobExecutionId: restarted.id).first)
            #expect(step.counters.write == 41)
        }
    }

    @Test func aPreparedChunkCopiesWhatAnUnpreparedWriteCopies() async throws {
        try await PostgresItemWriterTests.withWideTable { repository, table in
            let rows = Self.wideRows()
            for columns in [PostgresItemWriterTests.columns, Array(PostgresItemWriterTests.columns.prefix(11))] {
                let count = columns.count
                var writer = try PostgresCopyItemWriter<Wide>(table: table, columns: columns, rowsPerStatement: 4) {
                    Array($0.values.prefix(count))
                }
                #expect(writer.preparation() == nil, "no preparation before the first write settled the columns")
                let transaction = try await repository.beginChunk()
                try await writer.write(Array(rows.prefix(1)), in: transaction)
                await transaction.rollback()
                let preparation = try #require(writer.preparation())
                let chunk = try #require(preparation.prepare(rows))
                let copied = try await Self.written(
                    rows, by: PreparedWrite(writer: writer, prepared: chunk),
                    table: table, columns: columns, repository)
                let expected = try await Self.reference(rows, table: table, columns: columns, repository) {
                    Array($0.values.prefix(count))
                }
                #expect(copied == expected)
                // What is sent is what was prepared, not the items encoded again.
                let altered = rows.map { row in
                    var row = row
                    row.text = "altered"
                    return row
                }
                let copiedAltered = try await Self.written(
                    altered, by: PreparedWrite(writer: writer, prepared: chunk), table: table, columns: columns,
                    repository)
                #expect(copiedAltered == expected)
            }
        }
    }

    @Test func aPoisonRowInAChunkOfAThousandIsSkippedAndRecordedOnce() async throws {
        try await TestDatabase.withRepository { repository in
            try await PostgresChunkJobTests.prepareTables(repository, rows: 1_000)
            try await PostgresChunkJobTests.refuse(637, repository)
            let recorder = PostgresSkippedItemRecorder(repository: repository)
            let job = PostgresChunkJobTests.skippingJob(
                "copy-poison", repository, chunkSize: 1_000, pageSize: 1_000, limit: 5, recorder: recorder
            ) { try PostgresChunkJobTests.copyWriter($0) }
            let jobOperator = JobOperator(
                registry: try JobRegistry([job]), repository: repository, logger: TestDatabase.logger)
            let execution = try await jobOperator.start("copy-poison")
            #expect(execution.status == .completed, "\(execution.exitMessage)")
            var expected = Dictionary(uniqueKeysWithValues: (Int64(1)...1_000).map { ($0, 1) })
            expected[637] = nil
            #expect(try await PostgresChunkJobTests.output(repository) == expected, "999 rows, each once")
            let step = try #require(try await repository.stepExecutions(jobExecutionId: execution.id).first)
            #expect(step.counters.write == 999)
            #expect(step.counters.writeSkip == 1)
            #expect(step.counters.read == 1_000)

            let skipped = try await recorder.skippedItems(jobExecutionId: execution.id)
            #expect(skipped.count == 1, "recorded exactly once")
            let record = try #require(skipped.first)
            #expect(record.phase == .write)
            #expect(record.jobName == "copy-poison")
            #expect(record.stepName == "copy")
            #expect(record.jobExecutionId == execution.id)
            #expect(record.reason.contains("no_637"))
            #expect(record.item != nil)
        }
    }

    @Test func skippedItemsRecordedInAChunkThatRollsBackVanishWithIt() async throws {
        try await TestDatabase.withRepository { repository in
            let recorder = PostgresSkippedItemRecorder()  // no repository at definition time
            let item = SkippedItem(
                jobName: "j", jobExecutionId: 42, stepName: "s", phase: .process,
                item: ["id": 7, "why": "it's \"bad\""],
                reason: "bad row\nsecond line")
            let rolledBack = try await repository.beginChunk()
            try await recorder.record([item], in: rolledBack)
            await rolledBack.rollback()
            #expect(try await repository.skippedItems(jobExecutionId: 42).isEmpty)

            // Committed with a chunk: recorded once, exactly as given (to the microsecond).
            let execution = try await repository.createJobExecution(
                jobName: "j", jobKey: "k", parameters: JobParameters(), workerId: nil)
            let step = try await repository.createStepExecution(
                StepExecution(jobExecutionId: execution.id, stepName: "s", startTime: Date(), lastUpdated: Date()))
            var stored = item
            stored.jobExecutionId = execution.id
            let committed = try await repository.beginChunk()
            try await recorder.record([stored], in: committed)
            _ = try await committed.commit(step)
            let read = try await repository.skippedItems(jobExecutionId: execution.id)
            #expect(read.count == 1)
            #expect(read.first?.item == stored.item)
            #expect(read.first?.reason == stored.reason)
            #expect(read.first?.phase == .process)
            #expect(abs((read.first?.time.timeIntervalSince1970 ?? 0) - stored.time.timeIntervalSince1970) < 0.000_002)
        }
    }

    @Test func migrationTwoCreatesTheSkippedItemsTableOnceAndIsIdempotent() async throws {
        try await TestDatabase.withRepository { repository in
            #expect(try await repository.migrate().isEmpty, "nothing left to apply")
            let indexes = try await repository.pool.withConnection { connection in
                try await connection.query(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'skipped_items'",
                    [.text(repository.schema)]
                ).map { try $0.decode("indexname", as: String.self) }
            }
            #expect(indexes.contains("skipped_items_by_job_execution"))
        }
    }

    @Test func theWriterRefusesATransactionThatIsNotPostgres() async throws {
        var writer = try PostgresCopyItemWriter<Int>(table: "t", columns: ["n"]) { [.int(Int64($0))] }
        let memory = InMemoryJobRepository()
        let transaction = try await memory.beginChunk()
        let error = try await #require(throws: BatchError.self) { try await writer.write([1], in: transaction) }
        #expect(error.code == .invalidState)
        await transaction.rollback()
    }

    @Test(arguments: ["t; DROP TABLE x", "a.b.c", "\"t\"", "", "t-1"])
    func theWriterRefusesTableNamesThatAreNotIdentifiers(table: String) {
        #expect(throws: PostgresError.self) {
            _ = try PostgresCopyItemWriter<Int>(table: table, columns: ["n"]) { [.int(Int64($0))] }
        }
    }
}

/// Writes a chunk with what a preparation made of it.
struct PreparedWrite<Inner: ItemWriter>: ItemWriter {
    var writer: Inner
    let prepared: PreparedChunk

    mutating func write(_ items: [Inner.Item], in transaction: any ChunkTransaction) async throws {
        try await writer.write(items, prepared: prepared, in: transaction)
    }
}
