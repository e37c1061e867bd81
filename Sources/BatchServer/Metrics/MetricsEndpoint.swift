import CoreMetrics
import Hummingbird
import Logging
import Prometheus

/// A worker's Prometheus endpoint: `GET /metrics` answers the registry's metrics in the Prometheus text format
/// (`swiftbatch worker --metrics-port PORT`). Loopback unless the address says otherwise; nothing else is served.
public struct MetricsEndpoint: Sendable {
    /// The content type of the Prometheus text exposition format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Where it listens.
    public let address: HTTPAddress
    /// The metrics it serves.
    public let registry: PrometheusCollectorRegistry
    let logger: Logger

    /// Creates the endpoint.
    /// - Parameters:
    ///   - address: where to listen (`127.0.0.1` unless told otherwise).
    ///   - registry: the metrics to serve (a new registry by default; ``metricsFactory`` fills it).
    ///   - logger: for the listening line and server errors.
    public init(
        address: HTTPAddress, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger
    ) {
        self.address = address
        self.registry = registry
        self.logger = logger
    }

    /// A swift-metrics factory filling ``registry``: give it to the worker (``BatchObservability``), or bootstrap
    /// the process with it so the application's own metrics are served too.
    public var metricsFactory: any MetricsFactory { PrometheusMetricsFactory(registry: registry) }

    /// The router: `GET /metrics` only.
    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let registry = registry
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = Self.contentType
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return router
    }

    /// Serves until the surrounding service group shuts down gracefully (or the task is cancelled);
    /// `onListening` is called with the bound address once it accepts connections.
    public func run(onListening: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let logger = logger
        let address = address
        let app = Application(
            router: router(),
            configuration: ApplicationConfiguration(
                address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                let bound =
                    channel.localAddress.map { local in
                        HTTPAddress(host: local.ipAddress ?? address.host, port: local.port ?? address.port).description
                    } ?? address.description
                logger.info("metrics endpoint listening", metadata: ["address": "\(bound)"])
                onListening(bound)
            },
            logger: logger)
        try await app.run()
    }
}
