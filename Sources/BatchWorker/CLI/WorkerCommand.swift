import ArgumentParser
import Batch
import BatchRabbitMQ
import BatchServer
import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Consume start / stop / restart / abandon commands from RabbitMQ and run the jobs.",
        discussion: """
            Run as many workers as you like, on any machines that reach the same broker and database: they compete \
            for commands. SIGTERM or SIGINT stops consuming, asks running jobs to stop, waits up to --grace for them \
            to reach STOPPED (restartable), then exits 0; a job still running when the grace runs out is marked \
            FAILED (restartable), and the worker exits 1.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Jobs run at once, 1 to 1024 (default: 32).",
            discussion:
                "The worker opens a quarter as many connections to the batch database, from 4 to 16 "
                + "(BATCH_DATABASE_POOL_SIZE sets another number)."))
    var concurrency: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds this worker may miss heartbeats before the fleet marks its executions FAILED.",
            discussion:
                "A worker records its lease with its registration, and every worker's sweep judges it by that one: "
                + "a fleet may mix leases."))
    var lease: Double = 10

    @Option(parsing: .unconditional, help: "Seconds to wait for running jobs to stop on shutdown.")
    var grace: Double = 30

    @Option(
        parsing: .unconditional,
        help: "Seconds between heartbeats (default: a third of the lease, at most 3; at most half of --lease).")
    var heartbeat: Double?

    @Option(
        help:
            "This worker's id, unique in the fleet (default: <host>-<pid>-<random>); a live worker's id is refused, a lost one's taken once its lease ran out."
    )
    var workerId: String?

    @Flag(help: "Do not create or upgrade the schema at start-up.")
    var noMigrate = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Attempts a command gets when a passing failure (a lost connection) meets it, before it is dead-lettered "
                + "(1 to 100).",
            valueName: "n"))
    var commandAttempts: Int = 5

    @Option(
        help: ArgumentHelp(
            "Seconds before a failed command is tried again; each later wait is four times longer, at most 60.",
            valueName: "seconds"))
    var commandRetryDelay: Double = 1

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Times a remote partition is sent to a worker before the loss of its worker ends it FAILED (1 to 100).",
            valueName: "n"))
    var partitionAttempts: Int = 3

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Serve Prometheus metrics at GET /metrics on this port (off by default; BATCH_METRICS_PORT).",
            valueName: "port"))
    var metricsPort: Int?

    @Option(
        help: ArgumentHelp(
            "The address the metrics endpoint listens on (default 127.0.0.1; BATCH_METRICS_HOST).", valueName: "host"))
    var metricsHost: String?

    @Option(help: ArgumentHelp("How log lines are written: text, or json (one object per line).", valueName: "format"))
    var logFormat: LogFormat = .text

    func validate() throws {
        try CLIValidation.integer(partitionAttempts, "--partition-attempts", in: 1...100)
        _ = try metricsAddress
        if let concurrency { try CLIValidation.integer(concurrency, "--concurrency", in: 1...1_024) }
        try CLIValidation.integer(commandAttempts, "--command-attempts", in: 1...100)
        guard commandRetryDelay > 0, commandRetryDelay <= 3600 else {
            throw ValidationError("--command-retry-delay must be more than 0 and at most 3600 seconds")
        }
        try CLIValidation.seconds(lease, "--lease")
        try CLIValidation.seconds(grace, "--grace", allowZero: true)
        if let heartbeat {
            try CLIValidation.seconds(heartbeat, "--heartbeat")
            // A worker beating less than twice a lease is found lost by its own fleet between two beats.
            guard heartbeat * 2 <= lease else {
                throw ValidationError(
                    "--heartbeat \(heartbeat) must be at most half of --lease \(lease), or the fleet finds this worker "
                        + "lost between two heartbeats and fails its jobs")
            }
        }
    }

    func run() async throws {
        LoggingBootstrap.setFormat(logFormat)
        let logger = try connection.logger(defaultLevel: .info)
        let endpoint = try metricsAddress.map { MetricsEndpoint(address: $0, logger: logger) }
        var configuration = WorkerConfiguration(
            workerId: workerId, concurrency: concurrency, lease: .seconds(lease),
            heartbeatInterval: heartbeat.map { .seconds($0) },
            grace: .seconds(grace), migrate: !noMigrate,
            commandRetry: CommandRetryPolicy(
                maximumAttempts: commandAttempts, initialDelay: .seconds(commandRetryDelay)))
        configuration.partitionAttempts = partitionAttempts
        if let endpoint { configuration.observability = MetricsBootstrap.observability(serving: endpoint) }
        let repository = try connection.repository(
            logger, poolSize: WorkerConfiguration.defaultPoolSize(concurrency: configuration.concurrency))
        let messaging: BatchMessaging
        do {
            messaging = try await connection.messaging(logger)
        } catch {
            await repository.shutdown()
            throw error
        }
        var jobOperator: JobOperator?
        do {
            let worker = try await Worker.connect(
                registry: try SwiftBatch.registry, repository: repository, messaging: messaging,
                configuration: configuration, logger: logger)
            jobOperator = worker.jobOperator
            // The endpoint comes first, so a shutdown stops it last: the final figures stay scrapeable while the
            // jobs drain.
            let metrics = endpoint.map {
                ServiceGroupConfiguration.ServiceConfiguration(
                    service: MetricsService(endpoint: $0), successTerminationBehavior: .ignore, serviceName: "metrics")
            }
            var group = ServiceGroupConfiguration(
                services: (metrics.map { [$0] } ?? []) + worker.services, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            // The worker bounds its own drain by --grace; this is the backstop for the services after it (events
            // still queued, deregistration), which all leave at once when cancelled.
            group.maximumGracefulShutdownDuration = configuration.grace + .seconds(3)
            try await ServiceGroup(configuration: group).run()
        } catch {
            // A server that stopped answering must not hold the exit past the grace period: close what closes
            // within a second and leave the rest to the process's end.
            _ = await Deadline.run(until: .now + .seconds(1)) { [jobOperator] in
                await jobOperator?.closeResources()
                await messaging.connection.close()
                await repository.shutdown()
                return true
            }
            throw error
        }
        await jobOperator?.closeResources()
        await messaging.connection.close()
        await repository.shutdown()
    }
}

extension WorkerCommand {
    /// Where the metrics endpoint listens: `--metrics-port` (else `BATCH_METRICS_PORT`) on `--metrics-host` (else
    /// `BATCH_METRICS_HOST`, else loopback); nil when no port is given.
    var metricsAddress: HTTPAddress? {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            let port: Int
            if let metricsPort {
                port = metricsPort
            } else if let text = environment["BATCH_METRICS_PORT"], !text.isEmpty {
                guard let value = Int(text) else {
                    throw ValidationError("BATCH_METRICS_PORT must be a port number, 1 to 65535, got '\(text)'")
                }
                port = value
            } else {
                return nil
            }
            try CLIValidation.integer(port, "--metrics-port", in: 1...65_535)
            let host = metricsHost ?? environment["BATCH_METRICS_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
            guard !host.contains(where: { $0.isWhitespace || $0 == "/" }), !host.isEmpty else {
                throw ValidationError("--metrics-host must be a host name or an IP address, got '\(host)'")
            }
            return HTTPAddress(host: host, port: port)
        }
    }
}
