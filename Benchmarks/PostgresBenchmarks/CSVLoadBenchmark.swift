import Batch
import BatchFiles
import BatchPostgres
import BenchmarkSupport
import Foundation
import Logging

/// A ledger row as the CSV file has it (decoded by header name).
struct LedgerCSVRow: Decodable, Sendable {
    let id: Int64
    let account: String
    let amount: Int64
    let note: String
}

/// Issues 6 and 13: a CSV file loaded into a table by a restartable chunk step (`CSVReader` →
/// `PostgresCopyItemWriter`, one transaction and one checkpoint per chunk), against psql doing the same chunked work
/// (a script of one `COPY` and one commit per chunk, at the same chunk size) and against one `psql \copy` of the
/// whole file.
struct CSVLoadBenchmark {
    let copy: CopyBenchmark
    var rows: Int { copy.rows }
    var path: String { copy.csvPath + ".header.csv" }

    /// The psql script loading the rows as one `COPY` and one `COMMIT` per `chunkSize` rows.
    func scriptPath(chunkSize: Int) -> String { copy.csvPath + ".commit-per-\(chunkSize).sql" }

    /// Writes the rows as CSV with a header line, and a psql script of committed `COPY`s per chunk size.
    func writeFiles(chunkSizes: [Int]) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var buffer = "id,account,amount,note\n"
        for id in 1...Int64(rows) {
            buffer += LedgerRow(id).csvLine
            if buffer.utf8.count > 1 << 20 {
                file.write(Data(buffer.utf8))
                buffer = ""
            }
        }
        file.write(Data(buffer.utf8))
        try file.close()
        for chunkSize in chunkSizes { try writeScript(chunkSize: chunkSize) }
    }

    private func writeScript(chunkSize: Int) throws {
        let scriptPath = scriptPath(chunkSize: chunkSize)
        _ = FileManager.default.createFile(atPath: scriptPath, contents: nil)
        let script = try FileHandle(forWritingTo: URL(fileURLWithPath: scriptPath))
        let copyStatement =
            "BEGIN;\nCOPY \"\(copy.configuration.schema)\".ledger (id, account, amount, note) FROM STDIN WITH (FORMAT csv);\n"
        var buffer = ""
        for id in 1...Int64(rows) {
            if (id - 1) % Int64(chunkSize) == 0 { buffer += copyStatement }
            buffer += LedgerRow(id).csvLine
            if id % Int64(chunkSize) == 0 || id == Int64(rows) { buffer += "\\.\nCOMMIT;\n" }
            if buffer.utf8.count > 1 << 20 {
                script.write(Data(buffer.utf8))
                buffer = ""
            }
        }
        script.write(Data(buffer.utf8))
        try script.close()
    }

    /// How the chunk step is set up.
    enum Variant: String, CaseIterable {
        /// Rows decoded through `Decodable`, one chunk after the other.
        case decoded
        /// Rows decoded through `Decodable`, reading (and encoding) ahead.
        case decodedReadingAhead = "decoded-ahead"
        /// Rows made from `CSVRecord`s by a closure, reading (and encoding) ahead.
        case mappedReadingAhead = "mapped-ahead"
        /// The same rows from an array in memory, reading (and encoding) ahead: the step without the file's parsing,
        /// to show how much of its time the reading costs.
        case memoryAhead = "memory-ahead"
    }

    /// The file's reader: rows decoded through `Decodable`, or made by a closure from each `CSVRecord`.
    static func reader(path: String, mapped: Bool) -> CSVReader<LedgerCSVRow> {
        guard mapped else { return CSVReader<LedgerCSVRow>(path: path) }
        return CSVReader(path: path) { record in
            LedgerCSVRow(
                id: try record.decode(Int64.self, "id"), account: try record.decode(String.self, "account"),
                amount: try record.decode(Int64.self, "amount"), note: try record.decode(String.self, "note"))
        }
    }

    /// The writer every variant uses.
    static func writer(table: String) throws -> PostgresCopyItemWriter<LedgerCSVRow> {
        let rowsPerStatement = ProcessInfo.processInfo.environment["BENCH_ROWS_PER_STATEMENT"].flatMap { Int($0) }
        return try PostgresCopyItemWriter<LedgerCSVRow>(
            table: table, columns: ["id", "account", "amount", "note"], rowsPerStatement: rowsPerStatement
        ) { [.int($0.id), .text($0.account), .int($0.amount), .text($0.note)] }
    }

    /// The file's rows, made in memory.
    func memoryRows() -> [LedgerCSVRow] {
        (1...Int64(rows)).map { id in
            let row = LedgerRow(id)
            return LedgerCSVRow(id: row.id, account: row.account, amount: row.amount, note: row.note)
        }
    }

    /// Runs the step once: its time, and the process CPU it used (from its start: the rows `memory-ahead` makes
    /// beforehand are not counted).
    func runChunkStep(trial: Int, chunkSize: Int, variant: Variant) async throws -> (time: Duration, cpu: Double) {
        try? await copy.truncate()
        let path = self.path
        let table = copy.table
        let readAhead = variant != .decoded
        let step: any JobStep
        if variant == .memoryAhead {
            let rows = memoryRows()
            step = ChunkStep(
                "load", chunkSize: chunkSize, reader: { _ in ArrayReader(rows: rows) },
                writer: { _ in try Self.writer(table: table) }
            ).readAhead(readAhead)
        } else {
            let mapped = variant == .mappedReadingAhead
            step = ChunkStep(
                "load", chunkSize: chunkSize, reader: { _ in Self.reader(path: path, mapped: mapped) },
                writer: { _ in try Self.writer(table: table) }
            ).readAhead(readAhead)
        }
        let jobOperator = JobOperator(
            registry: try JobRegistry([Job("csv-ledger", steps: [step])]), repository: copy.repository,
            logger: copy.logger)
        let cpuStart = processCPUSeconds()
        let start = ContinuousClock.now
        let execution = try await jobOperator.start(
            "csv-ledger",
            parameters: JobParameters([
                "trial": .int(Int64(trial)), "chunk": .int(Int64(chunkSize)), "variant": .string(variant.rawValue),
            ]))
        let elapsed = ContinuousClock.now - start
        let cpu = processCPUSeconds() - cpuStart
        precondition(execution.status == .completed, "CSV step ended \(execution.status): \(execution.exitMessage)")
        let loaded = try await copy.count()
        precondition(loaded == rows, "CSV step loaded \(loaded) rows, expected \(rows)")
        return (elapsed, cpu)
    }

    /// The CPU seconds of the step's own work on the rows, without the database: reading and mapping the file
    /// (the `mapped-ahead` reader), and encoding the rows for `COPY` in chunks of `chunkSize` (the writer's
    /// preparation, its encoding first settled by one row written in a transaction rolled back).
    func measureClientWork(chunkSize: Int) async throws -> (read: Double, encode: Double) {
        var writer = try Self.writer(table: copy.table)
        let transaction = try await copy.repository.beginChunk()
        let first = LedgerRow(1)
        try await writer.write(
            [LedgerCSVRow(id: first.id, account: first.account, amount: first.amount, note: first.note)],
            in: transaction)
        await transaction.rollback()
        guard let preparation = writer.preparation() else { fatalError("the writer offers no preparation") }
        var reader = Self.reader(path: path, mapped: true)
        try await reader.open(ExecutionContext())
        var chunks: [[LedgerCSVRow]] = []
        var chunk: [LedgerCSVRow] = []
        let readStart = processCPUSeconds()
        while let row = try await reader.read() {
            chunk.append(row)
            if chunk.count == chunkSize {
                chunks.append(chunk)
                chunk = []
            }
        }
        if !chunk.isEmpty { chunks.append(chunk) }
        let read = processCPUSeconds() - readStart
        try await reader.close(.completed)
        let encodeStart = processCPUSeconds()
        var encodedRows = 0
        for chunk in chunks { encodedRows += preparation.prepare(chunk)?.count ?? 0 }
        let encode = processCPUSeconds() - encodeStart
        precondition(encodedRows == rows, "encoded \(encodedRows) rows, expected \(rows)")
        return (read, encode)
    }

    /// One `psql \copy` of the whole file.
    func runPsql() async throws -> Duration {
        try await copy.runPsql(
            copyCommand:
                "\\copy \"\(copy.configuration.schema)\".ledger (id, account, amount, note) FROM '\(path)' "
                + "WITH (FORMAT csv, HEADER true)")
    }

    /// psql running the script of one committed `COPY` per `chunkSize` rows.
    func runPsqlChunked(chunkSize: Int) async throws -> Duration {
        try await copy.runPsql(script: scriptPath(chunkSize: chunkSize))
    }

    func cleanUp(chunkSizes: [Int]) {
        try? FileManager.default.removeItem(atPath: path)
        for chunkSize in chunkSizes { try? FileManager.default.removeItem(atPath: scriptPath(chunkSize: chunkSize)) }
    }
}

/// Items from an array.
struct ArrayReader<Item: Sendable>: ItemReader {
    let rows: [Item]
    private var next = 0

    init(rows: [Item]) { self.rows = rows }

    mutating func open(_ context: ExecutionContext) async throws {}

    mutating func read() async throws -> Item? {
        guard next < rows.count else { return nil }
        defer { next += 1 }
        return rows[next]
    }

    func update(_ context: inout ExecutionContext) {}
    mutating func close(_ status: BatchStatus) async throws {}
}
