// PostgreSQL benchmarks for issue 3, against the database of `scripts/services up`:
//
//     swift run -c release PostgresBenchmarks [rows] [trials]
//
// 1. Statements per launch: a job launch on a new instance, and on an instance with 1 and with 1,000 earlier
//    executions, counted on the connection (the last two must be equal).
// 2. Chunk-step load: a chunk step (chunk size 1,000) writing `rows` rows (default 1,000,000) through
//    PostgresItemWriter inside the chunk transaction, against `psql -c '\copy ...'` of the same rows into the same
//    table, and against psql sending the same rows as one 1,000-row `COPY` per chunk (the server's own cost of
//    loading in chunks). Trials alternate; medians and ratios are printed.
//
// Reads BATCH_DATABASE_URL (default postgres://batch:batch@127.0.0.1:5432/batch); works in a schema of its own,
// dropped at the end.
// 3. CSV load (issues 6 and 13): the same rows as a CSV file with a header, read by CSVReader and loaded by
//    PostgresCopyItemWriter in a restartable chunk step at chunk sizes 1,000 and 10,000 (BENCH_CSV_CHUNKS), against
//    psql running one COPY and one COMMIT per chunk of the same size, and against one `psql \copy` of the file.
//    Three variants of the step alternate with psql: `decoded` (rows through Decodable, one chunk after the other),
//    `decoded-ahead` and `mapped-ahead` (rows from CSVRecord by closure), both with readAhead(); BENCH_CSV_VARIANTS
//    (comma-separated) picks some. BENCH_CSV=0 leaves it out; BENCH_CSV_ONLY=1 runs only it. BENCH_CHUNK_ONLY=1 runs the chunk step once and reports the time spent in the writer;
// BENCH_CSV_CLIENT=1 measures instead the CPU the step's own work on the rows takes without the database (reading and
// mapping the file, encoding chunks for COPY); the variant `memory-ahead` loads the rows from an array in memory.
// BENCH_ASYNC_CHUNK_COMMIT=1 sets `synchronousChunkCommit = false`; BENCH_ROWS_PER_STATEMENT sets the writer's
// `rowsPerStatement`.
import Batch
import BatchFiles
import BatchPostgres
import BenchmarkSupport
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
if ProcessInfo.processInfo.environment["BENCH_ASYNC_CHUNK_COMMIT"] == "1" {
    configuration.synchronousChunkCommit = false
}
let repository = try PostgresJobRepository(configuration: configuration, logger: logger)
try await repository.migrate()
let schema = "\"\(configuration.schema)\""

let copy = CopyBenchmark(repository: repository, configuration: configuration, rows: rowCount, logger: logger)
try await copy.prepare()

let environment = ProcessInfo.processInfo.environment
let onlyWriter = environment["BENCH_WRITER"].flatMap(CopyBenchmark.WriterKind.init(rawValue:))
if environment["BENCH_CHUNK_ONLY"] == "1" {
    let nothing = environment["BENCH_WRITE_NOTHING"] == "1"
    let chunk = try await copy.runChunkStep(trial: 0, writer: onlyWriter ?? .copy, writeNothing: nothing)
    print(
        "chunk step\(nothing ? " writing nothing" : ""): \(format(chunk)), in the writer \(writerNanoseconds.load(ordering: .relaxed) / 1_000_000) ms"
    )
} else if environment["BENCH_CSV_ONLY"] != "1" {
    // MARK: 1. Statements per launch

    let launch = try await StatementsPerLaunch.measure(configuration: configuration, logger: logger)
    print(
        "statements per launch: new instance \(launch.new), 1 earlier execution \(launch.one), "
            + "1,000 earlier executions \(launch.thousand)")

    // MARK: 2. Chunk-step load vs \copy

    try copy.writeInputFiles()
    let writers: [CopyBenchmark.WriterKind] = onlyWriter.map { [$0] } ?? [.copy, .insert]
    var chunkTimes: [CopyBenchmark.WriterKind: [Duration]] = [:]
    var psqlTimes: [Duration] = []
    var psqlChunkedTimes: [Duration] = []
    let chunkedPsql = environment["BENCH_SKIP_CHUNKED_PSQL"] != "1"
    for trial in 1...trials {
        var line = "trial \(trial):"
        for writer in writers {
            let chunk = try await copy.runChunkStep(trial: trial, writer: writer)
            chunkTimes[writer, default: []].append(chunk)
            line += " chunk step (\(writer.rawValue) writer) \(format(chunk)),"
        }
        let psql = try await copy.runPsql(chunked: false)
        psqlTimes.append(psql)
        line += " psql \\copy \(format(psql))"
        if chunkedPsql {
            let psqlChunked = try await copy.runPsql(chunked: true)
            psqlChunkedTimes.append(psqlChunked)
            line += ", psql 1,000-row COPYs \(format(psqlChunked))"
        }
        print(line)
    }
    let psqlRate = Double(rowCount) / seconds(median(psqlTimes))
    print("median of \(trials): psql \\copy \(format(median(psqlTimes))) (\(Int(psqlRate)) rows/s)")
    for writer in writers {
        let times = chunkTimes[writer] ?? []
        let rate = Double(rowCount) / seconds(median(times))
        print(
            "median of \(trials): chunk step with the \(writer.rawValue) writer \(format(median(times))) "
                + "(\(Int(rate)) rows/s); ratio to \\copy \(String(format: "%.2f", rate / psqlRate))")
    }
    if chunkedPsql {
        let psqlChunkedRate = Double(rowCount) / seconds(median(psqlChunkedTimes))
        print(
            "median of \(trials): psql 1,000-row COPYs in one transaction \(format(median(psqlChunkedTimes))) "
                + "(\(Int(psqlChunkedRate)) rows/s); ratio to \\copy \(String(format: "%.2f", psqlChunkedRate / psqlRate))"
        )
    }
}

// MARK: 3. CSV file -> table (issues 6 and 13)

if environment["BENCH_CHUNK_ONLY"] != "1", environment["BENCH_CSV"] != "0" {
    let chunkSizes = (environment["BENCH_CSV_CHUNKS"] ?? "1000,10000").split(separator: ",").compactMap { Int($0) }
    let csv = CSVLoadBenchmark(copy: copy)
    try csv.writeFiles(chunkSizes: chunkSizes)
    typealias Variant = CSVLoadBenchmark.Variant
    let variants =
        environment["BENCH_CSV_VARIANTS"].map { names in
            names.split(separator: ",").compactMap { Variant(rawValue: String($0)) }
        } ?? Variant.allCases
    if environment["BENCH_CSV_CLIENT"] == "1" {
        // The step's own work alone, without the database: read and map, then encode, in process CPU seconds.
        for chunkSize in chunkSizes {
            var reads: [Double] = []
            var encodes: [Double] = []
            for _ in 1...trials {
                let work = try await csv.measureClientWork(chunkSize: chunkSize)
                reads.append(work.read)
                encodes.append(work.encode)
            }
            print(
                "CSV client work, median (least) of \(trials), chunk \(chunkSize): read and map "
                    + "\(String(format: "%.3f (%.3f)", median(reads), reads.min()!)) s, encode "
                    + "\(String(format: "%.3f (%.3f)", median(encodes), encodes.min()!)) s of CPU for \(rowCount) rows")
        }
    }
    let runsSteps = environment["BENCH_CSV_CLIENT"] != "1"
    var stepTimes: [Int: [Variant: [Duration]]] = [:]
    var stepCPU: [Int: [Variant: [Double]]] = [:]
    var chunkedTimes: [Int: [Duration]] = [:]
    var psqlTimes: [Duration] = []
    for trial in 1...trials where runsSteps {
        var line = "CSV trial \(trial):"
        for chunkSize in chunkSizes {
            line += " chunk \(chunkSize):"
            for variant in variants {
                let (step, cpu) = try await csv.runChunkStep(trial: trial, chunkSize: chunkSize, variant: variant)
                stepCPU[chunkSize, default: [:]][variant, default: []].append(cpu)
                stepTimes[chunkSize, default: [:]][variant, default: []].append(step)
                line += " step \(variant.rawValue) \(format(step)),"
            }
            let chunked = try await csv.runPsqlChunked(chunkSize: chunkSize)
            chunkedTimes[chunkSize, default: []].append(chunked)
            line += " psql COPY+COMMIT per chunk \(format(chunked));"
        }
        let psql = try await csv.runPsql()
        psqlTimes.append(psql)
        print(line + " psql \\copy \(format(psql))")
    }
    if runsSteps {
        let psqlRate = Double(rowCount) / seconds(median(psqlTimes))
        print(
            "CSV median of \(trials): psql \\copy of the whole file \(format(median(psqlTimes))) (\(Int(psqlRate)) rows/s)"
        )
        for chunkSize in chunkSizes {
            let chunkedRate = Double(rowCount) / seconds(median(chunkedTimes[chunkSize]!))
            print(
                "CSV median of \(trials), chunk \(chunkSize): psql COPY+COMMIT per chunk "
                    + "\(format(median(chunkedTimes[chunkSize]!))) (\(Int(chunkedRate)) rows/s)")
            for variant in variants {
                let time = median(stepTimes[chunkSize]![variant]!)
                let rate = Double(rowCount) / seconds(time)
                print(
                    "CSV median of \(trials), chunk \(chunkSize): chunk step \(variant.rawValue) \(format(time)) "
                        + "(\(Int(rate)) rows/s); / psql chunked \(String(format: "%.2f", rate / chunkedRate)), "
                        + "/ \\copy \(String(format: "%.2f", rate / psqlRate)); "
                        + "the step's own CPU \(String(format: "%.2f", median(stepCPU[chunkSize]![variant]!))) s")
            }
        }
    }
    csv.cleanUp(chunkSizes: chunkSizes)
}

try await repository.pool.withConnection { try await $0.query("DROP SCHEMA \(schema) CASCADE") }
copy.cleanUp()
await repository.shutdown()

func format(_ duration: Duration) -> String { String(format: "%.2f s", seconds(duration)) }
