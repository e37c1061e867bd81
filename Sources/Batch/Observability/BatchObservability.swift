import CoreMetrics
import Foundation
import Tracing

/// Where the engine's metrics, spans and progress go: a swift-metrics factory, a swift-distributed-tracing tracer
/// and a ``StepProgressObserver``.
///
/// swift-metrics and swift-distributed-tracing are bootstrapped once per process (`MetricsSystem.bootstrap`,
/// `InstrumentationSystem.bootstrap`); by default the engine uses whatever the process bootstrapped, read when a
/// job or step starts. Give a factory or a tracer of your own to keep one operator's figures apart (tests, several
/// operators in one process), or ``disabled`` to emit nothing:
/// ```swift
/// let prometheus = PrometheusCollectorRegistry()
/// let observability = BatchObservability(metrics: PrometheusMetricsFactory(registry: prometheus))
/// let jobOperator = JobOperator(registry: registry, repository: repository, observability: observability)
/// ```
/// Metric labels come from job and step names only, never from parameters (see ``BatchMetricName``).
public struct BatchObservability: Sendable {
    /// The metrics factory; nil means the process's (`MetricsSystem.factory`).
    public var metricsFactory: (any MetricsFactory)?
    /// The tracer; nil means the process's (`InstrumentationSystem.tracer`).
    public var tracer: (any Tracer)?
    /// Told of running chunk steps' progress, at most once per ``progressInterval`` per step execution.
    public var progress: (any StepProgressObserver)?
    /// The shortest time between two progress reports of one step execution (1 s).
    public var progressInterval: Duration

    /// Creates an observability configuration.
    /// - Parameters:
    ///   - metrics: the metrics factory; nil (the default) uses the process's.
    ///   - tracer: the tracer; nil (the default) uses the process's.
    ///   - progress: where running chunk steps report their progress; nil reports nothing.
    ///   - progressInterval: the shortest time between two reports of one step execution.
    public init(
        metrics: (any MetricsFactory)? = nil, tracer: (any Tracer)? = nil,
        progress: (any StepProgressObserver)? = nil, progressInterval: Duration = .seconds(1)
    ) {
        self.metricsFactory = metrics
        self.tracer = tracer
        self.progress = progress
        self.progressInterval = progressInterval
    }

    /// The process's metrics factory and tracer, read when a job or step starts; no progress reports.
    public static var global: BatchObservability { BatchObservability() }

    /// No metrics, no spans, no progress: the no-op backends.
    public static var disabled: BatchObservability {
        BatchObservability(metrics: NOOPMetricsHandler.instance, tracer: NoOpTracer())
    }

    /// The metrics factory in effect now.
    public var metrics: any MetricsFactory { metricsFactory ?? MetricsSystem.factory }

    /// The tracer in effect now.
    public var resolvedTracer: any Tracer { tracer ?? InstrumentationSystem.tracer }

    /// Returns this configuration reporting progress to `observer` too.
    public func reportingProgress(to observer: (any StepProgressObserver)?) -> BatchObservability {
        var copy = self
        copy.progress = observer
        return copy
    }
}
