import Batch
import CoreMetrics
import Tracing

/// The worker's own metrics — its capacity, the jobs it runs, the commands it handled — and the span of each
/// command, through the configuration's ``BatchObservability``.
struct WorkerMetrics: Sendable {
    /// `batch_worker_running_jobs`.
    let runningJobs: any RecorderHandler
    /// `batch_worker_capacity`.
    let capacity: any RecorderHandler
    private let factory: any MetricsFactory
    private let tracer: any Tracer

    /// What became of a command, as the `outcome` label says it.
    enum Outcome: String {
        /// Accepted (a start: its execution stored).
        case accepted
        /// Refused by the rules (already running, not restartable, ...).
        case refused
        /// Moved to the dead-letter queue: it can never succeed.
        case deadLettered = "dead_lettered"
        /// Sent back for a later attempt after a passing failure.
        case retried

        /// The outcome a failed command's retry decision leads to.
        init(_ decision: CommandRetryPolicy.Decision) {
            switch decision {
            case .refuse: self = .refused
            case .deadLetter: self = .deadLettered
            case .retry: self = .retried
            }
        }
    }

    init(_ observability: BatchObservability, concurrency: Int) {
        factory = observability.metrics
        tracer = observability.resolvedTracer
        runningJobs = factory.makeRecorder(label: BatchMetricName.workerRunningJobs, dimensions: [], aggregate: false)
        capacity = factory.makeRecorder(label: BatchMetricName.workerCapacity, dimensions: [], aggregate: false)
        capacity.record(Int64(concurrency))
    }

    /// Counts a handled command: `command` is its action, or `invalid` for a body that is not a command.
    func command(_ command: String, _ outcome: Outcome) {
        factory.makeCounter(
            label: BatchMetricName.commands,
            dimensions: [(BatchMetricName.Label.command, command), (BatchMetricName.Label.outcome, outcome.rawValue)]
        ).increment(by: 1)
    }

    /// Runs the handling of one command in its `batch.command` span, which continues the trace the command carries
    /// (its sender's), if any.
    func traced(_ delivery: any CommandDelivery, _ body: ((any Span)?) async -> Void) async {
        if tracer is NoOpTracer { return await body(nil) }
        let context = delivery.traceContext(using: tracer) ?? ServiceContext.current ?? .topLevel
        await tracer.withSpan(BatchSpan.command, context: context, ofKind: .consumer) { span in await body(span) }
    }
}
