import CoreMetrics
import Foundation
import Tracing

/// One step execution's metrics handles, chunk spans and progress clock, made once when the step starts so the
/// chunk loop only adds to counters it already holds: nothing is looked up or allocated per item, and the per-chunk
/// work is a clock read, four counter additions, a timer record and (with a tracer) one span.
@usableFromInline
final class StepObservation {
    /// The job execution and step execution observed.
    let jobName: String
    let executionId: Int64
    let stepName: String
    let stepExecutionId: Int64
    private let read: any CounterHandler
    private let written: any CounterHandler
    private let filtered: any CounterHandler
    private let skipped: any CounterHandler
    private let duration: any TimerHandler
    /// Nil with the no-op tracer: no span is started at all.
    private let tracer: (any Tracer)?
    private let progress: (any StepProgressObserver)?
    private let progressInterval: Duration
    /// When progress was last reported (or the step started), with the counts and input position then.
    private var lastReport: (time: ContinuousClock.Instant, read: Int64, done: Int64?)

    /// Resolves the handles for the step.
    /// - Parameters:
    ///   - metricStep: the step's name as a label: a partitioned step's own name for its partitions.
    init(
        observability: BatchObservability, jobName: String, executionId: Int64, stepName: String,
        stepExecutionId: Int64, metricStep: String
    ) {
        let metrics = observability.metrics
        let labels = [(BatchMetricName.Label.job, jobName), (BatchMetricName.Label.step, metricStep)]
        func items(_ kind: BatchMetricName.ItemKind) -> any CounterHandler {
            metrics.makeCounter(
                label: BatchMetricName.stepItems, dimensions: labels + [(BatchMetricName.Label.kind, kind.rawValue)])
        }
        read = items(.read)
        written = items(.written)
        filtered = items(.filtered)
        skipped = items(.skipped)
        duration = metrics.makeTimer(label: BatchMetricName.chunkDuration, dimensions: labels)
        let tracer = observability.resolvedTracer
        self.tracer = tracer is NoOpTracer ? nil : tracer
        progress = observability.progress
        progressInterval = observability.progressInterval
        self.jobName = jobName
        self.executionId = executionId
        self.stepName = stepName
        self.stepExecutionId = stepExecutionId
        lastReport = (.now, 0, nil)
    }

    /// A chunk in progress: when it began and its span.
    @usableFromInline
    struct ChunkTiming {
        @usableFromInline let start: ContinuousClock.Instant
        @usableFromInline let span: (any Span)?
    }

    /// Starts timing (and tracing) a chunk.
    @usableFromInline
    func chunkStarted(number: Int) -> ChunkTiming {
        guard let tracer else { return ChunkTiming(start: .now, span: nil) }
        let span = tracer.startSpan(BatchSpan.chunk, context: ServiceContext.current ?? .topLevel, ofKind: .internal)
        span.attributes[BatchSpan.stepExecutionId] = stepExecutionId
        span.attributes[BatchSpan.chunkNumber] = number
        return ChunkTiming(start: .now, span: span)
    }

    /// Counts a committed chunk's items.
    @usableFromInline
    func chunkCommitted(read: Int, written: Int, filtered: Int, skipped: Int) {
        self.read.increment(by: Int64(read))
        self.written.increment(by: Int64(written))
        if filtered != 0 { self.filtered.increment(by: Int64(filtered)) }
        if skipped != 0 { self.skipped.increment(by: Int64(skipped)) }
    }

    /// Ends a chunk: records its duration when it committed something and ends its span.
    /// - Returns: whether a progress report is due (then call ``reportProgress(_:reader:)``).
    @usableFromInline
    func chunkEnded(_ chunk: ChunkTiming, committed: Bool, read: Int) -> Bool {
        let now = ContinuousClock.now
        if committed {
            let elapsed = (now - chunk.start).components
            duration.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        }
        if let span = chunk.span {
            span.attributes[BatchSpan.itemsRead] = read
            span.end()
        }
        return progress != nil && now - lastReport.time >= progressInterval
    }

    /// Ends a chunk that failed: its span records the error.
    @usableFromInline
    func chunkFailed(_ chunk: ChunkTiming, _ error: any Error) {
        guard let span = chunk.span else { return }
        span.recordError(error)
        span.setStatus(SpanStatus(code: .error, message: error.batchDescription))
        span.end()
    }

    /// Reports the step's progress to the observer: counts, the pace since the last report and, when the reader
    /// knows its size, an estimated end.
    @usableFromInline
    func reportProgress(_ counters: StepCounters, reader: (any ProgressReportingReader)?) {
        guard let progress else { return }
        let now = ContinuousClock.now
        let seconds = (now - lastReport.time).timeInterval
        let read = Int64(counters.read)
        let rate = seconds > 0 ? Double(read - lastReport.read) / seconds : 0
        let position = reader?.progress
        var estimatedEnd: Date?
        if let position, position.total > 0, seconds > 0 {
            let moved = position.done - (lastReport.done ?? 0)
            if moved > 0 {
                let remaining = Double(max(0, position.total - position.done)) / (Double(moved) / seconds)
                if remaining.isFinite, remaining < 1e9 { estimatedEnd = Date().addingTimeInterval(remaining) }
            }
        }
        lastReport = (now, read, position?.done)
        progress.stepProgressed(
            StepProgress(
                executionId: executionId, jobName: jobName, stepName: stepName, stepExecutionId: stepExecutionId,
                read: read, write: Int64(counters.write), filter: Int64(counters.filter),
                skip: Int64(counters.readSkip + counters.processSkip + counters.writeSkip), itemsPerSecond: rate,
                done: position?.done, total: position?.total, estimatedEnd: estimatedEnd))
    }
}
