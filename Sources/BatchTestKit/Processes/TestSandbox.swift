import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Logging
import Synchronization

/// A place of a test's own on the shared PostgreSQL and RabbitMQ: a schema, a demo schema, a queue prefix and a
/// data directory named `name`, handles on the repository and the broker, and the `swiftbatch` processes started
/// into it. ``tearDown()`` kills the processes and removes all of it.
public final class TestSandbox: Sendable {
    /// The schema, the queue prefix and the data directory's name: `prefix` and a random suffix.
    public let name: String
    /// The data directory (`BATCH_DATA_DIR`), where the processes' logs go too.
    public let directory: String
    /// The environment of its processes: the services, the schemas, the prefix, the data directory, the log level.
    public let environment: [String: String]
    /// The job repository on the schema, migrated.
    public let repository: PostgresJobRepository
    /// The messaging on the prefix, its topology declared.
    public let messaging: BatchMessaging
    private let processes = Mutex<[WorkerProcess]>([])

    /// The test database: `BATCH_TEST_DATABASE_URL`, else the local one of `scripts/services`.
    public static var databaseURL: String {
        ProcessInfo.processInfo.environment["BATCH_TEST_DATABASE_URL"]
            ?? "postgres://batch:batch@127.0.0.1:5432/batch_test"
    }

    /// The test broker: `BATCH_TEST_AMQP_URL`, else the local one of `scripts/services`.
    public static var amqpURL: String {
        ProcessInfo.processInfo.environment["BATCH_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/batch_test"
    }

    /// The built `swiftbatch` executable, beside the test bundle.
    public static var executable: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("swiftbatch").path),
            directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("swiftbatch").path
    }

    /// Creates the data directory, migrates the schema and declares the topology.
    /// - Parameters:
    ///   - prefix: the start of ``name``, which says whose sandbox it was (`e2e_`, `srv_`).
    ///   - logLevel: the processes' `BATCH_LOG_LEVEL`.
    public init(prefix: String, logLevel: String = "info") async throws {
        name = prefix + String(UInt32.random(in: .min ... .max), radix: 36)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        environment = [
            "BATCH_DATABASE_URL": Self.databaseURL, "BATCH_DATABASE_SCHEMA": name, "BATCH_DEMO_SCHEMA": name + "_demo",
            "BATCH_AMQP_URL": Self.amqpURL, "BATCH_PREFIX": name, "BATCH_DATA_DIR": directory,
            "BATCH_LOG_LEVEL": logLevel, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        var configuration = try PostgresConfiguration(url: Self.databaseURL)
        configuration.schema = name
        repository = try PostgresJobRepository(configuration: configuration, logger: quietLogger)
        try await repository.migrate()
        let connection = try await AMQPConnection.connect(
            configuration: AMQPConfiguration(url: Self.amqpURL), logger: quietLogger)
        messaging = BatchMessaging(connection: connection, topology: BatchTopology(prefix: name), logger: quietLogger)
        try await messaging.declareTopology()
    }

    /// Starts `swiftbatch` with `arguments` (and ``environment`` unless given another), its output in `log` in
    /// the data directory; ``tearDown()`` kills it if it still runs.
    @discardableResult
    public func launch(
        _ arguments: [String], environment: [String: String]? = nil, log: String
    ) throws
        -> WorkerProcess
    {
        let process = try WorkerProcess(
            executable: Self.executable, arguments: arguments, environment: environment ?? self.environment,
            log: "\(directory)/\(log)")
        processes.withLock { $0.append(process) }
        return process
    }

    /// Starts `swiftbatch worker` with `arguments` and waits until it consumes.
    @discardableResult
    public func startWorker(_ arguments: [String] = []) async throws -> WorkerProcess {
        let worker = try launch(["worker"] + arguments, log: "worker-\(UUID().uuidString.prefix(8)).log")
        try await worker.waitForLog("worker consuming", timeout: .seconds(30))
        return worker
    }

    /// Kills every process still running, drops the schemas, deletes the queues, the exchanges and the data
    /// directory.
    public func tearDown() async {
        for process in processes.withLock({ $0 }) { process.kill() }
        _ = try? await repository.pool.withConnection { connection in
            try await connection.query("DROP SCHEMA IF EXISTS \(name) CASCADE")
            try await connection.query("DROP SCHEMA IF EXISTS \(name)_demo CASCADE")
        }
        await repository.shutdown()
        let topology = messaging.topology
        for queue in topology.ownQueues { try? await messaging.connection.deleteQueue(queue) }
        for exchange in [topology.deadLetterExchange, topology.controlExchange, topology.eventsExchange] {
            try? await messaging.connection.deleteExchange(exchange)
        }
        await messaging.connection.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A test's world built on a ``TestSandbox``: its name, environment, handles and directory are the sandbox's.
public protocol SandboxWorld: Sendable {
    /// The sandbox the world lives in.
    var sandbox: TestSandbox { get }
}

extension SandboxWorld {
    /// The sandbox's ``TestSandbox/name``: schema, queue prefix and data directory name.
    public var name: String { sandbox.name }
    /// The sandbox's ``TestSandbox/environment`` for `swiftbatch` processes.
    public var environment: [String: String] { sandbox.environment }
    /// The sandbox's ``TestSandbox/repository``.
    public var repository: PostgresJobRepository { sandbox.repository }
    /// The sandbox's ``TestSandbox/messaging``.
    public var messaging: BatchMessaging { sandbox.messaging }
    /// The sandbox's data directory, ``TestSandbox/directory``.
    public var directory: String { sandbox.directory }
}
