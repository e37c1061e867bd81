import Batch
import BatchTestKit

/// The partitions of the tests' "sums" jobs: `p0`, `p1`, … with `from` 1, 101, 201, …: each partition's reader
/// reads the hundred numbers from its `from`.
struct HundredsPartitioner: Partitioner {
    func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        var partitions: [String: ExecutionContext] = [:]
        for index in 0..<gridSize {
            partitions["p\(index)"] = ExecutionContext(["from": .int(Int64(index * 100 + 1))])
        }
        return partitions
    }
}

/// `part0`, `part1`, … with empty contexts: partitions whose work is the inner step's alone.
struct NumberedPartitioner: Partitioner {
    func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        Dictionary(uniqueKeysWithValues: (0..<gridSize).map { ("part\($0)", ExecutionContext()) })
    }
}

/// The partitioned step `sum` of the "sums" jobs: `partitions` partitions of ``HundredsPartitioner``, each a chunk
/// step `sum-range` in chunks of 25 over its hundred numbers, through `processor` when given, into `writer`.
func sumsStep(
    partitions: Int, maxConcurrency: Int? = nil, processor: (@Sendable (Int) async throws -> Int?)? = nil,
    writer: @escaping @Sendable (StepContext) async throws -> ClosureItemWriter<Int>
) -> PartitionStep {
    let reader: @Sendable (StepContext) async throws -> ArrayItemReader<Int> = { context in
        let from = context.stepContext.int("from") ?? 0
        return ArrayItemReader(Array(from..<(from + 100)))
    }
    let step: any JobStep =
        if let processor {
            ChunkStep("sum-range", chunkSize: 25, reader: reader, processor: processor, writer: writer)
        } else {
            ChunkStep("sum-range", chunkSize: 25, reader: reader, writer: writer)
        }
    return PartitionStep(
        "sum", partitions: partitions, maxConcurrency: maxConcurrency, partitioner: HundredsPartitioner(), step: step)
}
