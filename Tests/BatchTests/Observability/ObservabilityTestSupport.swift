import Batch
import BatchTestKit
import Foundation
import Logging
import Synchronization

/// Jobs and helpers for the observability tests.
enum ObservabilityJobs {
    /// `numbers`: one chunk step over 1...1000 in chunks of 100; multiples of 10 are filtered out, and 7, 77 and 777
    /// fail to process and are skipped.
    static let numbers = Job("numbers") {
        ChunkStep(
            "square", chunkSize: 100,
            reader: { _ in ArrayItemReader(Array(1...1000)) },
            processor: { (n: Int) -> Int? in
                if n == 7 || n == 77 || n == 777 { throw Boom() }
                return n % 10 == 0 ? nil : n * n
            },
            writer: { _ in ClosureItemWriter<Int> { _ in } }
        )
        .skip(SkipPolicy(limit: 10) { $0 is Boom })
    }

    /// `sums`: a partitioned step `sum` of 4 partitions of 100 numbers each, chunks of 25; with `failing`, that
    /// partition's writer fails on its second chunk.
    static func sums(failing: String? = nil) -> Job {
        Job("sums") {
            sumsStep(partitions: 4) { context in
                ClosureItemWriter<Int> { items in
                    if context.partitionName == failing, items.contains(where: { $0 % 100 == 30 }) {
                        throw Boom(description: "bad chunk")
                    }
                }
            }
        }
    }

    static func makeOperator(
        _ job: Job, _ observability: BatchObservability, logger: Logger = quietLogger
    ) throws
        -> JobOperator
    {
        JobOperator(
            registry: try JobRegistry([job]), repository: InMemoryJobRepository(), workerId: "worker-1",
            logger: logger, observability: observability)
    }
}

/// Collects progress reports.
final class ProgressRecorder: StepProgressObserver {
    private let reports = Mutex<[StepProgress]>([])
    var all: [StepProgress] { reports.withLock { $0 } }
    func stepProgressed(_ progress: StepProgress) { reports.withLock { $0.append(progress) } }
}

/// A reader over numbers that reports its position in "bytes" (4 per number) out of a known total.
struct SizedReader: ItemReader, ProgressReportingReader {
    let count: Int
    let delay: Duration
    var next = 1

    var progress: (done: Int64, total: Int64)? { (Int64(next - 1) * 4, Int64(count) * 4) }

    mutating func read() async throws -> Int? {
        guard next <= count else { return nil }
        if next % 10 == 0 { try await Task.sleep(for: delay) }
        defer { next += 1 }
        return next
    }
}
