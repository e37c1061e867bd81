import ArgumentParser
import Batch
import BatchServer
import CoreMetrics
import ServiceLifecycle

extension LogFormat: ExpressibleByArgument {}

/// How `swiftbatch worker --metrics-port` wires swift-metrics to the Prometheus endpoint.
enum MetricsBootstrap {
    /// The worker's observability when it serves metrics: the endpoint's Prometheus factory. When the process
    /// has not bootstrapped swift-metrics itself, the factory is bootstrapped as the process's too, so the
    /// application's own metrics are served as well; a process that did bootstrap keeps its backend, and the
    /// batch metrics go to the endpoint.
    static func observability(serving endpoint: MetricsEndpoint) -> BatchObservability {
        let factory = endpoint.metricsFactory
        if MetricsSystem.factory is NOOPMetricsHandler { MetricsSystem.bootstrap(factory) }
        return BatchObservability(metrics: factory)
    }
}

/// The metrics endpoint as a service of the worker's group.
struct MetricsService: Service {
    let endpoint: MetricsEndpoint

    func run() async throws { try await endpoint.run() }
}
