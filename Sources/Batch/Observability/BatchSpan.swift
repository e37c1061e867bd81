import Tracing

/// The spans swift-batch starts through swift-distributed-tracing, and their attributes.
///
/// A job execution is one `batch.job` span; each step execution a `batch.step` span under it (a partition's under
/// its partitioned step's); each chunk a `batch.chunk` span under its step; each command a worker handles a
/// `batch.command` span. Errors are recorded on the span where they happened, and a failed job or step has the
/// error status.
public enum BatchSpan {
    /// A job execution.
    public static let job = "batch.job"
    /// A step execution (a partition included).
    public static let step = "batch.step"
    /// A chunk (one transaction of a chunk step).
    public static let chunk = "batch.chunk"
    /// A command handled by a worker.
    public static let command = "batch.command"

    /// Attribute: the job's name.
    public static let jobName = "batch.job.name"
    /// Attribute: the job execution's id.
    public static let executionId = "batch.job.execution.id"
    /// Attribute: the job instance's id.
    public static let instanceId = "batch.job.instance.id"
    /// Attribute: the final status of a job or step execution.
    public static let status = "batch.status"
    /// Attribute: the step execution's name (`step:partition` for a partition).
    public static let stepName = "batch.step.name"
    /// Attribute: the step execution's id.
    public static let stepExecutionId = "batch.step.execution.id"
    /// Attribute: the partition's name.
    public static let partition = "batch.partition"
    /// Attribute: the chunk's number within its step execution, from 1.
    public static let chunkNumber = "batch.chunk.number"
    /// Attribute: items a chunk read.
    public static let itemsRead = "batch.chunk.read"
    /// Attribute: items a chunk wrote.
    public static let itemsWritten = "batch.chunk.written"
    /// Attribute: a command's action.
    public static let commandAction = "batch.command.action"
    /// Attribute: what became of a command.
    public static let commandOutcome = "batch.command.outcome"

    /// Marks `span` failed with `message` (and records `error` when there is one).
    public static func fail(_ span: any Span, message: String, error: (any Error)? = nil) {
        if let error { span.recordError(error) }
        span.setStatus(SpanStatus(code: .error, message: message))
    }
}
