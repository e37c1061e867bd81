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

/// Issue 6: a CSV file loaded into a table by a restartable chunk step (`CSVReader` → `PostgresCopyItemWriter`,
/// chunk size 1,000), against `psql \copy` of the same file into the same table.
struct CSVLoadBenchmark {
    let copy: CopyBenchmark
    var rows: Int { copy.rows }
    var path: String { copy.csvPath + ".header.csv" }

    /// Writes the rows as CSV with a header line.
    func writeFile() throws {
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
    }

    func runChunkStep(trial: Int) async throws -> Duration {
        try? await copy.truncate()
        let table = copy.table
        let path = self.path
        let job = Job("csv-ledger") {
            ChunkStep(
                "load", chunkSize: 1_000, reader: { _ in CSVReader<LedgerCSVRow>(path: path) },
                writer: { _ in
                    try PostgresCopyItemWriter<LedgerCSVRow>(
                        table: table, columns: ["id", "account", "amount", "note"]
                    ) { [.int($0.id), .text($0.account), .int($0.amount), .text($0.note)] }
                })
        }
        let jobOperator = JobOperator(
            registry: try JobRegistry([job]), repository: copy.repository, logger: copy.logger)
        let start = ContinuousClock.now
        let execution = try await jobOperator.start(
            "csv-ledger", parameters: JobParameters(["trial": .int(Int64(trial))]))
        let elapsed = ContinuousClock.now - start
        precondition(execution.status == .completed, "CSV step ended \(execution.status): \(execution.exitMessage)")
        let loaded = try await copy.count()
        precondition(loaded == rows, "CSV step loaded \(loaded) rows, expected \(rows)")
        return elapsed
    }

    func runPsql() async throws -> Duration {
        try await copy.runPsql(
            copyCommand:
                "\\copy \"\(copy.configuration.schema)\".ledger (id, account, amount, note) FROM '\(path)' "
                + "WITH (FORMAT csv, HEADER true)")
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
