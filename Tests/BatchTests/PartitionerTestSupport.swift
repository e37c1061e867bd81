import Batch
import BatchTestKit

/// Records what the partitioner it wraps answers.
private struct CapturingPartitioner: Partitioner {
    let inner: any Partitioner
    let captured: Recorder<[String: ExecutionContext]>
    func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        let partitions = try await inner.partition(gridSize: gridSize, context: context)
        captured.append(partitions)
        return partitions
    }
}

/// The partitions `partitioner` makes for `gridSize` in a job started with `params` (a StepContext can only be made
/// by running a step, so this runs a partitioned step whose partitions do nothing).
func partitions(
    of partitioner: any Partitioner, gridSize: Int, params: String = "{}"
) async throws -> [String: ExecutionContext] {
    let captured = Recorder<[String: ExecutionContext]>()
    let job = Job("capture") {
        PartitionStep(
            "capture", partitions: gridSize,
            partitioner: CapturingPartitioner(inner: partitioner, captured: captured),
            step: Step("nothing") { _ in })
    }
    _ = try await makeOperator(job).start("capture", params: params)
    guard let result = captured.all.first else { throw Boom() }
    return result
}

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
