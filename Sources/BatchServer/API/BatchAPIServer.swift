import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Hummingbird
import Logging
import NIOCore

/// `swiftbatch server`: the operators' JSON API (described by `openapi.json`, served at `/openapi.json`) and the
/// dashboard's static files, on Hummingbird.
///
/// Reads come from PostgreSQL; commands go through RabbitMQ to the workers as the CLI's do (the server runs no
/// jobs); parameters pass the same strict JSON parser and job validators as a command over RabbitMQ.
public struct BatchAPIServer: Sendable {
    /// How the server listens and answers.
    public struct Configuration: Sendable {
        /// Where it listens (loopback by default).
        public var address: HTTPAddress
        /// With a token, every API request needs `Authorization: Bearer <token>`.
        public var token: String?
        /// How long a command waits for a worker's answer before 504.
        public var commandTimeout: Duration
        /// How often the event stream sends a keep-alive comment (which also finds clients gone).
        public var keepAlive: Duration
        /// Where `openapi.json` and `Dashboard/` are (the resource bundle beside the executable by default).
        public var resources: String?
        /// The most event streams (`GET /api/events`) open at once; past it a client gets 503.
        public var maxEventStreams: Int
        /// How long a connection may sit without a request (or in the middle of reading one) before it is closed,
        /// and how long a response's writes may make no progress (its client stopped reading) before it is closed.
        /// A response being written whose client keeps reading (an event stream) is never cut.
        public var idleTimeout: Duration

        /// Creates a configuration.
        public init(
            address: HTTPAddress = HTTPAddress(port: 8080), token: String? = nil,
            commandTimeout: Duration = .seconds(30), keepAlive: Duration = .seconds(15), resources: String? = nil,
            maxEventStreams: Int = 100, idleTimeout: Duration = .seconds(60)
        ) {
            self.maxEventStreams = maxEventStreams
            self.idleTimeout = idleTimeout
            self.address = address
            self.token = token
            self.commandTimeout = commandTimeout
            self.keepAlive = keepAlive
            self.resources = resources
        }
    }

    let configuration: Configuration
    let api: APIHandlers
    let files: Result<ServerResources, APIError>
    let logger: Logger

    /// Creates the server.
    ///
    /// - Parameters:
    ///   - configuration: address, token, timeouts.
    ///   - registry: the jobs of this executable (what may be started, and how its parameters are checked).
    ///   - repository: where executions, workers and schedules are read.
    ///   - messaging: where commands go and events come from.
    ///   - schedules: the scheduler's planning (where a schedule starts, what a firing sends).
    ///   - logger: the server's logger (requests are not logged; the token never is).
    /// Without its files (`openapi.json`, `Dashboard/`) the server still serves the API, and says so in a warning;
    /// `/openapi.json` and `/` then answer 404 with the places it looked at.
    public init(
        configuration: Configuration, registry: JobRegistry, repository: PostgresJobRepository,
        messaging: BatchMessaging, schedules: SchedulePlanning, logger: Logger
    ) {
        self.configuration = configuration
        do {
            files = .success(try ServerResources(directory: configuration.resources))
        } catch {
            let failure = APIError.from(error)
            logger.warning("serving the API without the dashboard", metadata: ["reason": "\(failure.message)"])
            files = .failure(APIError(.notFound, failure.message))
        }
        self.api = APIHandlers(
            registry: registry, repository: repository, messaging: messaging, schedules: schedules,
            commandTimeout: configuration.commandTimeout, keepAlive: configuration.keepAlive,
            streams: StreamSlots(limit: configuration.maxEventStreams), logger: logger)
        self.logger = logger
    }

    /// The router: the origin and token checks, the dashboard's files, the API routes.
    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let publicNames = Set(
            (try? self.files.get().dashboard).flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0) }
                ?? [])
        router.add(middleware: FrameRefusalMiddleware())
        router.add(middleware: APIAccessMiddleware(token: configuration.token, publicNames: publicNames))
        let files: ServerResources
        switch self.files {
        case .success(let found):
            files = found
        case .failure(let missing):
            for path in ["/", "/openapi.json"] {
                router.get(RouterPath(path)) { _, _ in
                    APIResponse.json(["error": .string(missing.message)], status: missing.status)
                }
            }
            api.register(on: router)
            return router
        }
        router.add(middleware: FileMiddleware(files.dashboard, searchForIndexHtml: true, logger: logger))
        let openAPI = files.openAPI
        router.get("/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: openAPI)))
        }
        api.register(on: router)
        return router
    }

    /// Runs until SIGTERM or SIGINT; `onListening` is called with the bound address once it accepts connections.
    public func run(onListening: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let stallLimit = TimeAmount(configuration.idleTimeout)
        let logger = logger
        let app = Application(
            router: router(),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [StalledWriteHandler(limit: stallLimit, logger: logger)],
                    idleTimeout: stallLimit)),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.address.host, port: configuration.address.port),
                serverName: nil),
            onServerRunning: { channel in
                onListening(channel.localAddress.map { "\($0)" } ?? "\(configuration.address)")
            },
            logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
