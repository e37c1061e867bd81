// PostgreSQL benchmarks for issue 3, against the database of `scripts/services up`:
//
//     swift run -c release PostgresBenchmarks [rows] [trials]
//
// 1. Statements per launch: a job launch on an instance with 1 and with 1,000 earlier executions, counted on the
//    connection (they must be equal).
// 2. Chunk-step copy: a chunk step (chunk size 1,000) writing `rows` rows (default 1,000,000) through
//    PostgresItemWriter inside the chunk transaction, against `psql -c '\copy ...'` of the same rows into the same
//    table. Trials alternate; the medians and their ratio are printed (the target is a ratio of at least 0.5).
//
// Reads BATCH_DATABASE_URL (default postgres://batch:batch@127.0.0.1:5432/batch); works in a schema of its own,
// dropped at the end.
import Batch
import BatchPostgres
import Foundation
import Logging

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let rowCount = arguments.first ?? 1_000_000
let trials = arguments.dropFirst().first ?? 3

var logger = Logger(label: "postgres-benchmarks")
logger.logLevel = .warning
var configuration =
    try PostgresConfiguration.fromEnvironment()
    ?? PostgresConfiguration(url: "postgres://batch:batch@127.0.0.1:5432/batch")
configuration.schema = "bench_\(ProcessInfo.processInfo.processIdentifier)"
configuration.pool.size = 2
let repository = try PostgresJobRepository(configuration: configuration, logger: logger)
try await repository.migrate()
let schema = "\"\(configuration.schema)\""

// MARK: 1. Statements per launch

let launchStatements = try await StatementsPerLaunch.measure(configuration: configuration, logger: logger)
print(
    "statements per launch: new instance \(launchStatements.new), 1 earlier execution \(launchStatements.one), "
        + "1,000 earlier executions \(launchStatements.thousand)")

// MARK: 2. Chunk-step copy vs \copy

let copy = CopyBenchmark(repository: repository, configuration: configuration, rows: rowCount, logger: logger)
try await copy.prepare()
if ProcessInfo.processInfo.environment["BENCH_CHUNK_ONLY"] == "2" {
    let chunk = try await copy.runChunkStep(trial: 0)
    print("chunk step: \(format(chunk))")
    exit(0)
}
if ProcessInfo.processInfo.environment["BENCH_CHUNK_ONLY"] == "1" {
    var start = ContinuousClock.now
    var total = 0
    for chunkStart in stride(from: 1, through: rowCount, by: 1_000) {
        var text = PostgresCopyText(capacity: 64_000)
        for id in Int64(chunkStart)..<Int64(min(chunkStart + 1_000, rowCount + 1)) {
            let row = LedgerRow(id)
            let values: [PostgresValue?] = [.int(row.id), .text(row.account), .int(row.amount), .text(row.note)]
            for (column, value) in values.enumerated() { try text.append(value, position: column + 1) }
            text.endRow()
        }
        total += text.bytes.count
    }
    print("encoding only: \(format(ContinuousClock.now - start)) (\(total) bytes)")
    var sample = PostgresCopyText(capacity: 64_000)
    for id in Int64(1)...1_000 {
        let row = LedgerRow(id)
        let values: [PostgresValue?] = [.int(row.id), .text(row.account), .int(row.amount), .text(row.note)]
        for (column, value) in values.enumerated() { try sample.append(value, position: column + 1) }
        sample.endRow()
    }
    for perStatement in [1_000, 250] {
        try await repository.pool.withConnection { connection in
            try await connection.query("TRUNCATE \(schema).ledger")
        }
        var writer = try PostgresItemWriter<LedgerRow>(
            table: "\(configuration.schema).ledger", columns: ["id", "account", "amount", "note"],
            rowsPerStatement: perStatement
        ) { [.int($0.id), .text($0.account), .int($0.amount), .text($0.note)] }
        let rowsOfChunk = (Int64(1)...1_000).map(LedgerRow.init)
        let start = ContinuousClock.now
        for _ in 0..<(rowCount / 1_000) {
            let transaction = try await repository.beginChunk()
            try await writer.write(rowsOfChunk, in: transaction)
            let connection = (transaction as! PostgresChunkTransaction).connection
            try await connection.query("SELECT 1")
            await transaction.rollback()
        }
        print("writer loop, \(perStatement) rows per insert, rolled back: \(format(ContinuousClock.now - start))")
    }
    for inTransactions in [false, true] {
        try await repository.pool.withConnection { connection in
            try await connection.query("TRUNCATE \(schema).ledger")
            let start = ContinuousClock.now
            for _ in 0..<(rowCount / 1_000) {
                if inTransactions { try await connection.query("BEGIN") }
                try await connection.copyIn(
                    "COPY \(schema).ledger (id, account, amount, note) FROM STDIN", data: sample.bytes)
                if inTransactions { try await connection.query("COMMIT") }
            }
            print("bare COPY loop (transactions: \(inTransactions)): \(format(ContinuousClock.now - start))")
        }
    }
    start = ContinuousClock.now
    let chunk = try await copy.runChunkStep(trial: 0)
    print("chunk step: \(format(chunk))")
    let nothing = try await copy.runChunkStep(trial: 1, writeNothing: true)
    print("chunk step writing nothing: \(format(nothing))")
    exit(0)
}
var chunkTimes: [Duration] = []
var psqlTimes: [Duration] = []
for trial in 1...trials {
    let chunk = try await copy.runChunkStep(trial: trial)
    let psql = try await copy.runPsqlCopy()
    chunkTimes.append(chunk)
    psqlTimes.append(psql)
    print("trial \(trial): chunk step \(format(chunk)), psql \\copy \(format(psql))")
}
let chunkMedian = median(chunkTimes)
let psqlMedian = median(psqlTimes)
let chunkRate = Double(rowCount) / seconds(chunkMedian)
let psqlRate = Double(rowCount) / seconds(psqlMedian)
print(
    "median over \(trials): chunk step \(format(chunkMedian)) (\(Int(chunkRate)) rows/s), psql \\copy "
        + "\(format(psqlMedian)) (\(Int(psqlRate)) rows/s), ratio \(String(format: "%.2f", chunkRate / psqlRate))")

try await repository.pool.withConnection { try await $0.query("DROP SCHEMA \(schema) CASCADE") }
copy.cleanUp()
await repository.shutdown()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func format(_ duration: Duration) -> String { String(format: "%.2f s", seconds(duration)) }

func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
