import Batch
// What metrics, spans and progress reports cost the engine: BatchBenchmarks' in-memory chunk step (1,000 items a
// chunk) run with the no-op backends and with the Prometheus backend, side by side with the same plain loop.
//
//     swift run -c release ObservabilityBenchmarks [items] [trials] [chunkSize]
//
// Each trial runs, in an order that rotates from trial to trial (so drift on a shared machine hits all alike):
// - plain: the plain loop of BatchBenchmarks (no engine);
// - disabled: the chunk step with `BatchObservability.disabled` (no-op metrics factory, NoOpTracer);
// - default: the chunk step with the process's backends, which nothing bootstrapped (swift-metrics' NOOP handler,
//   InstrumentationSystem's NoOpTracer): what a user who sets nothing up pays;
// - prometheus: metrics into a PrometheusCollectorRegistry (what `swiftbatch worker --metrics-port` uses), and a
//   progress observer (told once a second), scraped (rendered to text) after each run.
// Prints the medians (items/s) and each configuration's cost against `disabled` and against the plain loop. The
// uninstrumented engine is measured by `scripts/observability-cost` (BatchBenchmarks of the commit before the
// instrumentation, alternating with this tree's).
import BenchmarkSupport
import Foundation
import Logging
import Prometheus
import Synchronization

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let itemCount = arguments.first ?? 1_000_000
let trials = arguments.dropFirst().first ?? 7
let chunkSize = arguments.dropFirst(2).first ?? 1_000
let items = Array(0..<itemCount)
let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

/// Counts the progress reports (what the worker's publisher does first: queue them).
final class CountingObserver: StepProgressObserver {
    let count = Atomic<Int>(0)
    func stepProgressed(_ progress: StepProgress) { count.add(1, ordering: .relaxed) }
}

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

func chunkStep(_ trial: Int, _ observability: BatchObservability) async throws -> (Duration, Int) {
    let writer = SumWriter()
    let job = Job("bench") {
        ChunkStep(
            "chunks", chunkSize: chunkSize, reader: { _ in ArrayItemReader(items) }, processor: processor,
            writer: { _ in writer })
    }
    let jobOperator = JobOperator(
        registry: try JobRegistry([job]), repository: InMemoryJobRepository(), logger: quiet,
        observability: observability)
    return (try await timedRun(of: "bench", on: jobOperator, trial: trial), writer.sum)
}

let registry = PrometheusCollectorRegistry()
let observer = CountingObserver()
let configurations: [(name: String, observability: BatchObservability?)] = [
    ("plain loop", nil),
    ("disabled", .disabled),
    ("default (no-op)", .global),
    ("prometheus", BatchObservability(metrics: PrometheusMetricsFactory(registry: registry), progress: observer)),
]
var rates = Array(repeating: [Double](), count: configurations.count)
var cpuRates = Array(repeating: [Double](), count: configurations.count)
var expectedSum: Int?
for trial in 0..<trials {
    for offset in 0..<configurations.count {
        let index = (trial + offset) % configurations.count
        let cpuBefore = processCPUSeconds()
        let (time, sum) =
            if let observability = configurations[index].observability {
                try await chunkStep(trial * configurations.count + offset, observability)
            } else {
                try await plainLoop()
            }
        precondition(expectedSum == nil || expectedSum == sum, "every configuration must do the same work")
        expectedSum = sum
        rates[index].append(Double(itemCount) / seconds(time))
        cpuRates[index].append(Double(itemCount) / (processCPUSeconds() - cpuBefore))
    }
}
let exposition = registry.emitToString()
precondition(exposition.contains("batch_step_items_total"), "the Prometheus registry holds the step's counters")
print("items: \(itemCount), chunk size: \(chunkSize), trials: \(trials) (alternating, medians)")
for (title, series) in [("wall clock", rates), ("CPU time", cpuRates)] {
    let medians = series.map(median)
    let disabled = medians[1]
    print("\(title):")
    for (index, configuration) in configurations.enumerated() {
        let rate = medians[index]
        let cost = index == 0 ? "" : String(format: "  cost vs disabled %+6.1f %%", (disabled / rate - 1) * 100)
        let name = ("  " + configuration.name).padding(toLength: 18, withPad: " ", startingAt: 0)
        print(name + String(format: " %12.0f items/s  vs plain loop %5.2f", rate, rate / medians[0]) + cost)
    }
}
print("progress reports: \(observer.count.load(ordering: .relaxed)) (at most one a second per step execution)")
