import Batch
import BatchFiles
import BatchPostgres
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
    }

    func runChunkStep(trial: Int, chunkSize: Int, variant: Variant) async throws -> Duration {
        try? await copy.truncate()
        let table = copy.table
        let path = self.path
        let rowsPerStatement = ProcessInfo.processInfo.environment["BENCH_ROWS_PER_STATEMENT"].flatMap { Int($0) }
        let mapped = variant == .mappedReadingAhead
        let readAhead = variant != .decoded
        let job = Job("csv-ledger") {
            ChunkStep(
                "load", chunkSize: chunkSize,
                reader: { _ in
                    guard mapped else { return CSVReader<LedgerCSVRow>(path: path) }
                    return CSVReader(path: path) { record in
                        LedgerCSVRow(
                            id: try record.decode(Int64.self, "id"), account: try record.decode(String.self, "account"),
                            amount: try record.decode(Int64.self, "amount"),
                            note: try record.decode(String.self, "note"))
                    }
                },
                writer: { _ in
                    try PostgresCopyItemWriter<LedgerCSVRow>(
                        table: table, columns: ["id", "account", "amount", "note"],
                        rowsPerStatement: rowsPerStatement
                    ) { [.int($0.id), .text($0.account), .int($0.amount), .text($0.note)] }
                }
            ).readAhead(readAhead)
        }
        let jobOperator = JobOperator(
            registry: try JobRegistry([job]), repository: copy.repository, logger: copy.logger)
        let start = ContinuousClock.now
        let execution = try await jobOperator.start(
            "csv-ledger",
            parameters: JobParameters([
                "trial": .int(Int64(trial)), "chunk": .int(Int64(chunkSize)), "variant": .string(variant.rawValue),
            ]))
        let elapsed = ContinuousClock.now - start
        precondition(execution.status == .completed, "CSV step ended \(execution.status): \(execution.exitMessage)")
        let loaded = try await copy.count()
        precondition(loaded == rows, "CSV step loaded \(loaded) rows, expected \(rows)")
        return elapsed
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
