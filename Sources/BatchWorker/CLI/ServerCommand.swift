import ArgumentParser
import Batch
import BatchServer
import Foundation
import Logging

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Serve the JSON API and the web dashboard over HTTP (the jobs of this program; no jobs run here).",
        discussion: """
            Reads come from the database; start, stop, restart and abandon go to the workers over RabbitMQ, as the \
            CLI's do, and answer once a worker has taken them. Listens on 127.0.0.1:8080 unless --http says \
            otherwise. With BATCH_API_TOKEN set, every API request needs `Authorization: Bearer <token>`. The API is \
            described at /openapi.json; the dashboard is at /.
            Example: BATCH_API_TOKEN=secret \(SwiftBatch.commandName) server --http 127.0.0.1:8080
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Where to listen: host:port, [v6]:port or a port (loopback).", valueName: "address"))
    var http: String = "127.0.0.1:8080"

    @Option(parsing: .unconditional, help: "Seconds a command waits for a worker's answer before 504.")
    var timeout: Double = 30

    @Option(parsing: .unconditional, help: "Seconds between keep-alive comments on the event stream.")
    var keepAlive: Double = 15

    @Option(
        help: ArgumentHelp(
            "The folder of openapi.json and Dashboard/ (default: the bundle beside the program).", valueName: "dir"))
    var resources: String?

    @Option(
        parsing: .unconditional,
        help: "The most event streams (GET /api/events) open at once (1 to 100000); past it a client gets 503.")
    var maxEventStreams: Int = 100

    @Option(
        parsing: .unconditional,
        help: "Seconds a connection may stay idle (no request, or a stalled one), or stall a response by not reading.")
    var idleTimeout: Double = 60

    @Flag(help: "Do not create or upgrade the schema at start-up.")
    var noMigrate = false

    /// The address given with --http.
    var address: HTTPAddress {
        get throws {
            guard let address = HTTPAddress(parsing: http) else {
                throw ValidationError(
                    "--http takes host:port, [v6]:port or a port from 1 to 65535, got '\(http.prefix(100))'")
            }
            return address
        }
    }

    func validate() throws {
        _ = try address
        try CLIValidation.seconds(timeout, "--timeout")
        try CLIValidation.seconds(keepAlive, "--keep-alive")
        try CLIValidation.seconds(idleTimeout, "--idle-timeout")
        guard (1...100_000).contains(maxEventStreams) else {
            throw ValidationError("--max-event-streams takes a number from 1 to 100000, got \(maxEventStreams)")
        }
    }

    func run() async throws {
        let logger = try connection.logger(label: "swiftbatch.server", defaultLevel: .info)
        let registry = try SwiftBatch.registry
        let token = ProcessInfo.processInfo.environment["BATCH_API_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let configuration = BatchAPIServer.Configuration(
            address: try address, token: token, commandTimeout: .seconds(timeout), keepAlive: .seconds(keepAlive),
            resources: resources, maxEventStreams: maxEventStreams, idleTimeout: .seconds(idleTimeout))
        let planner = SchedulePlanner(registry: registry)
        if token == nil, !["127.0.0.1", "::1", "localhost"].contains(configuration.address.host) {
            logger.warning(
                "listening beyond loopback without BATCH_API_TOKEN: anyone who reaches this address can start and stop jobs",
                metadata: ["address": "\(configuration.address)"])
        }
        try await connection.withRepository(logger) { repository in
            if !noMigrate { try await repository.migrate() }
            try await connection.withMessaging(logger) { messaging in
                // What every worker declares: the commands, dead-letter and events entities exist before any worker.
                try await messaging.declareTopology()
                let server = BatchAPIServer(
                    configuration: configuration, registry: registry, repository: repository, messaging: messaging,
                    schedules: SchedulePlanning(
                        start: { SchedulePlanner.start($0, now: $1) }, firing: { try planner.firing($0, slot: $1) }),
                    logger: logger)
                try await server.run { address in
                    logger.info(
                        "server listening",
                        metadata: ["address": "\(address)", "token": "\(token == nil ? "none" : "required")"])
                }
            }
        }
    }
}
