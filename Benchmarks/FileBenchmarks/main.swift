import Batch
import BatchFiles
// CSV → CSV through a chunk step, measured side by side with a bare loop making the same reader and writer calls
// on the same file.
//
//     swift run -c release --scratch-path .build-files FileBenchmarks [rows] [trials]
//
// Writes a CSV file of `rows` rows (default 1,000,000; some fields quoted, with commas, quotes and line breaks),
// then alternates trials of: a bare loop (CSVReader.read → a trivial processor → CSVWriter.write every 1,000
// rows) and a job of one ChunkStep doing the same with chunk size 1,000 on the in-memory repository (so every
// chunk also saves the reader's and the writer's positions). Prints the median rows/s of each and their ratio;
// the target (issue 6) is a ratio of at least 0.5. Both outputs are checked to be identical.
import BenchmarkSupport
import Foundation
import Logging

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let rowCount = arguments.first ?? 1_000_000
let trials = arguments.dropFirst().first ?? 5
let chunkSize = 1_000

struct Row: Codable, Sendable {
    var id: Int
    var account: String
    var amount: Double
    var memo: String
    var booked: Bool
}

let directory = FileManager.default.temporaryDirectory.path + "/swift-batch-file-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
let input = directory + "/input.csv"
let bareOutput = directory + "/bare.csv"
let stepOutput = directory + "/step.csv"

/// The trivial processor: books every row.
let processor: @Sendable (Row) async throws -> Row? = { row in
    var row = row
    row.booked = true
    return row
}

func makeInput() async throws {
    let memos = ["plain", "with, comma", "say \"hi\"", "two\nlines", "", "Grüße 東京"]
    var writer = CSVWriter<Row>(path: input)
    try await writer.open(ExecutionContext())
    var chunk: [Row] = []
    for id in 0..<rowCount {
        chunk.append(
            Row(
                id: id, account: "ACC-\(id % 9_973)", amount: Double(id % 100_000) / 100, memo: memos[id % memos.count],
                booked: false))
        if chunk.count == 10_000 {
            try await writer.write(chunk, in: NoTransaction())
            chunk.removeAll(keepingCapacity: true)
        }
    }
    try await writer.write(chunk, in: NoTransaction())
    try await writer.close(.completed)
}

func bareLoop() async throws -> Duration {
    let transaction = NoTransaction()
    let start = ContinuousClock.now
    var reader = CSVReader<Row>(path: input)
    var writer = CSVWriter<Row>(path: bareOutput)
    try await reader.open(ExecutionContext())
    try await writer.open(ExecutionContext())
    try await plainChunkLoop(&reader, processor: processor, &writer, chunkSize: chunkSize, in: transaction)
    try await writer.close(.completed)
    try await reader.close(.completed)
    return ContinuousClock.now - start
}

func chunkStep(_ trial: Int) async throws -> Duration {
    let job = Job("bench") {
        ChunkStep(
            "copy", chunkSize: chunkSize, reader: { _ in CSVReader<Row>(path: input) }, processor: processor,
            writer: { _ in CSVWriter<Row>(path: stepOutput) })
    }
    let jobOperator = JobOperator(
        registry: try JobRegistry([job]), repository: InMemoryJobRepository(),
        logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
    return try await timedRun(of: "bench", on: jobOperator, trial: trial)
}

try await makeInput()
let inputSize = (try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
var bareRates: [Double] = []
var stepRates: [Double] = []
for trial in 0..<trials {
    bareRates.append(Double(rowCount) / seconds(try await bareLoop()))
    stepRates.append(Double(rowCount) / seconds(try await chunkStep(trial)))
    let bareDigest = try Checksum.compute(of: bareOutput, .md5)
    let stepDigest = try Checksum.compute(of: stepOutput, .md5)
    precondition(bareDigest == stepDigest, "the two loops must write the same file")
}
let bare = median(bareRates)
let step = median(stepRates)
print("rows: \(rowCount) (\(inputSize / 1_000_000) MB), chunk size: \(chunkSize), trials: \(trials)")
print(
    String(
        format: "bare loop:   %10.0f rows/s (median)  %6.1f MB/s", bare,
        bare * Double(inputSize) / Double(rowCount) / 1e6))
print(
    String(
        format: "chunk step:  %10.0f rows/s (median)  %6.1f MB/s", step,
        step * Double(inputSize) / Double(rowCount) / 1e6))
print(String(format: "ratio:       %10.2f (target >= 0.50)", step / bare))
