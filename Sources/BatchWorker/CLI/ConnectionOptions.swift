import ArgumentParser
import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Logging

/// Where the database and the broker are, and how much to log: flags first, then the environment, then the local
/// services of `scripts/services`.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (env BATCH_DATABASE_URL; default postgres://batch:***@127.0.0.1:5432/batch).")
    var databaseURL: String?

    @Option(help: "Schema of the batch tables (env BATCH_DATABASE_SCHEMA; default batch).")
    var schema: String?

    @Option(help: "RabbitMQ URL (env BATCH_AMQP_URL; default amqp://guest:***@127.0.0.1:5672/%2f).")
    var amqpURL: String?

    @Option(help: "Prefix of the queue and exchange names (env BATCH_PREFIX; default batch).")
    var prefix: String?

    @Option(
        help:
            "Log level: trace, debug, info, notice, warning, error, critical (env BATCH_LOG_LEVEL; default info for worker, run and server, warning otherwise)."
    )
    var logLevel: String?

    static let defaultDatabaseURL = "postgres://batch:batch@127.0.0.1:5432/batch"

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    private func setting(_ flag: String?, _ variable: String) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let value = environment[variable], !value.isEmpty { return value }
        return nil
    }

    /// Refuses a bad `--log-level` (or `BATCH_LOG_LEVEL`) while parsing, so the error shows the command's usage.
    func validate() throws {
        _ = try level()
    }

    /// The level chosen with `--log-level` or `BATCH_LOG_LEVEL`, or `defaultLevel`.
    func level(default defaultLevel: Logger.Level = .warning) throws -> Logger.Level {
        let text = setting(logLevel, "BATCH_LOG_LEVEL") ?? defaultLevel.rawValue
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError(
                "unknown log level '\(text.prefix(100))'; use trace, debug, info, notice, warning, error or critical")
        }
        return level
    }

    /// The command's logger; also sets the level of every other logger of the process (the libraries', the jobs')
    /// to the chosen one.
    func logger(label: String = "swiftbatch", defaultLevel: Logger.Level = .warning) throws -> Logger {
        LoggingBootstrap.setLevel(try level(default: defaultLevel))
        return Logger(label: label)
    }

    /// The batch database: the flags, else the environment, else the local default.
    /// - Parameter poolSize: the pool's size unless `BATCH_DATABASE_POOL_SIZE` sets it (nil: the library's default).
    func postgresConfiguration(poolSize: Int? = nil) throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(
            url: setting(databaseURL, "BATCH_DATABASE_URL") ?? Self.defaultDatabaseURL)
        if let schema = setting(schema, "BATCH_DATABASE_SCHEMA") { configuration.schema = schema }
        if let size = try Self.poolSize(poolSize, in: environment) { configuration.pool.size = size }
        return configuration
    }

    /// The pool size `BATCH_DATABASE_POOL_SIZE` sets in `environment`, else `fallback`.
    static func poolSize(_ fallback: Int?, in environment: [String: String]) throws -> Int? {
        try PostgresConfiguration.poolSize(in: environment) ?? fallback
    }

    /// The job repository on the batch database, which becomes the command's
    /// (``SwiftBatch/databaseConfiguration``).
    /// - Parameters:
    ///   - poolSize: the pool's size unless `BATCH_DATABASE_POOL_SIZE` sets it (nil: the library's default).
    ///   - adjust: changes the configuration first (a quicker connection policy, say).
    func repository(
        _ logger: Logger, poolSize: Int? = nil, adjusting adjust: (inout PostgresConfiguration) -> Void = { _ in }
    ) throws -> PostgresJobRepository {
        var configuration = try postgresConfiguration(poolSize: poolSize)
        adjust(&configuration)
        SwiftBatch.use(database: configuration)
        return try PostgresJobRepository(configuration: configuration, logger: logger)
    }

    func messaging(_ logger: Logger) async throws -> BatchMessaging {
        let configuration = try AMQPConfiguration(
            url: setting(amqpURL, "BATCH_AMQP_URL") ?? AMQPConfiguration.defaultURL)
        let connection = try await AMQPConnection.connect(configuration: configuration, logger: logger)
        return BatchMessaging(
            connection: connection, topology: BatchTopology(prefix: setting(prefix, "BATCH_PREFIX") ?? "batch"),
            logger: logger)
    }
}

extension ConnectionOptions {
    /// Runs `body` with a repository and shuts the repository down before returning or throwing: its connections
    /// closed, their threads joined.
    func withRepository<Result>(
        _ logger: Logger, adjusting adjust: (inout PostgresConfiguration) -> Void = { _ in },
        _ body: (PostgresJobRepository) async throws -> Result
    ) async throws -> Result {
        let repository = try self.repository(logger, adjusting: adjust)
        do {
            let result = try await body(repository)
            await repository.shutdown()
            return result
        } catch {
            await repository.shutdown()
            throw error
        }
    }

    /// Runs `body` with a broker connection and closes it before returning or throwing.
    func withMessaging<Result>(
        _ logger: Logger, _ body: (BatchMessaging) async throws -> Result
    ) async throws -> Result {
        let messaging = try await self.messaging(logger)
        do {
            let result = try await body(messaging)
            await messaging.connection.close()
            return result
        } catch {
            await messaging.connection.close()
            throw error
        }
    }
}
