import Batch
// The engine's chunk-step overhead, measured side by side with a plain loop making the same reader, processor
// and writer calls.
//
//     swift run -c release BatchBenchmarks [items] [trials]
//
// Prints the median of each over the trials (alternating, so drift on a shared machine hits both alike) and
// their ratio. The target (issue 2) is a ratio of at least 0.5.
import BenchmarkSupport
import Foundation
import Logging

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let itemCount = arguments.first ?? 1_000_000
let trials = arguments.dropFirst().first ?? 7
let chunkSize = 1_000
let items = Array(0..<itemCount)

let processor: @Sendable (Int) async throws -> Int? = { $0 & 1 == 0 ? $0 : $0 &* 3 }

func plainLoop() async throws -> (Duration, Int) {
    var writer = SumWriter()
    let transaction = NoTransaction()
    let start = ContinuousClock.now
    var reader = ArrayItemReader(items)
    try await reader.open(ExecutionContext())
    try await plainChunkLoop(&reader, processor: processor, &writer, chunkSize: chunkSize, in: transaction)
    return (ContinuousClock.now - start, writer.sum)
}

func chunkStep(_ trial: Int) async throws -> (Duration, Int) {
    let writer = SumWriter()
    let job = Job("bench") {
        ChunkStep(
            "chunks", chunkSize: chunkSize, reader: { _ in ArrayItemReader(items) }, processor: processor,
            writer: { _ in writer })
    }
    let jobOperator = JobOperator(
        registry: try JobRegistry([job]), repository: InMemoryJobRepository(),
        logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
    return (try await timedRun(of: "bench", on: jobOperator, trial: trial), writer.sum)
}

var plainRates: [Double] = []
var engineRates: [Double] = []
for trial in 0..<trials {
    let (plainTime, plainSum) = try await plainLoop()
    let (engineTime, engineSum) = try await chunkStep(trial)
    precondition(plainSum == engineSum, "the two loops must do the same work")
    plainRates.append(Double(itemCount) / seconds(plainTime))
    engineRates.append(Double(itemCount) / seconds(engineTime))
}
let plain = median(plainRates)
let engine = median(engineRates)
print("items: \(itemCount), chunk size: \(chunkSize), trials: \(trials)")
print(String(format: "plain loop:  %12.0f items/s (median)", plain))
print(String(format: "chunk step:  %12.0f items/s (median)", engine))
print(String(format: "ratio:       %12.2f (target >= 0.50)", engine / plain))
