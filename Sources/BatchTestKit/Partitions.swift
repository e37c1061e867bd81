import Batch

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

/// The partitions `partitioner` makes for `gridSize` in a job started with `params`, with `directory` as its data
/// directory when given (a StepContext is only made by running a step, so this runs a partitioned step whose
/// partitions do nothing).
/// - Throws: a ``BatchError`` (`.stepFailed`) with the execution's exit message when the partitioner fails.
public func partitions(
    of partitioner: any Partitioner, gridSize: Int, directory: String? = nil, params: String = "{}"
) async throws -> [String: ExecutionContext] {
    let captured = Recorder<[String: ExecutionContext]>()
    var job = Job("capture") {
        PartitionStep(
            "capture", partitions: gridSize,
            partitioner: CapturingPartitioner(inner: partitioner, captured: captured),
            step: Step("nothing") { _ in })
    }
    if let directory { job = job.resource(try DataDirectory(path: directory)) }
    let execution = try await makeOperator(job).start("capture", params: params)
    guard let result = captured.all.first else {
        throw BatchError(.stepFailed, "the partitioner failed: \(execution.exitMessage)")
    }
    return result
}
