import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Logging
import Synchronization
import Testing

extension Tag {
    /// Tests that start worker processes against the real PostgreSQL and RabbitMQ: slower, run by `scripts/test`.
    @Tag static var endToEnd: Self
}

/// One isolated world for end-to-end tests: its own schema, demo schema and queue prefix, worker processes of
/// the built `swiftbatch`, and direct handles on the database and the broker to check what happened.
final class EndToEnd: Sendable {
    let name: String
    let environment: [String: String]
    let repository: PostgresJobRepository
    let messaging: BatchMessaging
    let dataDirectory: String
    private let workers = Mutex<[WorkerProcess]>([])

    static let logger = Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })

    static var databaseURL: String {
        ProcessInfo.processInfo.environment["BATCH_TEST_DATABASE_URL"]
            ?? "postgres://batch:batch@127.0.0.1:5432/batch_test"
    }
    static var amqpURL: String {
        ProcessInfo.processInfo.environment["BATCH_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/batch_test"
    }

    /// The built `swiftbatch` executable, beside the test bundle.
    static var executable: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("swiftbatch").path),
            directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("swiftbatch").path
    }

    init() async throws {
        name = "e2e_" + String(UInt32.random(in: .min ... .max), radix: 36)
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        environment = [
            "BATCH_DATABASE_URL": Self.databaseURL, "BATCH_DATABASE_SCHEMA": name, "BATCH_DEMO_SCHEMA": name + "_demo",
            "BATCH_AMQP_URL": Self.amqpURL, "BATCH_PREFIX": name, "BATCH_DATA_DIR": dataDirectory,
            "BATCH_LOG_LEVEL": "info", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        var configuration = try PostgresConfiguration(url: Self.databaseURL)
        configuration.schema = name
        repository = try PostgresJobRepository(configuration: configuration, logger: Self.logger)
        try await repository.migrate()
        let connection = try await AMQPConnection.connect(
            configuration: AMQPConfiguration(url: Self.amqpURL), logger: Self.logger)
        messaging = BatchMessaging(connection: connection, topology: BatchTopology(prefix: name), logger: Self.logger)
        try await messaging.declareTopology()
    }

    /// Starts a worker process and waits until it consumes.
    @discardableResult
    func startWorker(_ arguments: [String] = []) async throws -> WorkerProcess {
        let worker = try WorkerProcess(
            executable: Self.executable, arguments: ["worker"] + arguments, environment: environment,
            log: "\(dataDirectory)/worker-\(UUID().uuidString.prefix(8)).log")
        workers.withLock { $0.append(worker) }
        try await worker.waitForLog("worker consuming", timeout: .seconds(30))
        return worker
    }

    /// Runs the CLI to its end.
    func cli(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> (status: Int32, output: String) {
        let process = try WorkerProcess(
            executable: Self.executable, arguments: arguments, environment: environment,
            log: "\(dataDirectory)/cli-\(UUID().uuidString.prefix(8)).log")
        let status = try await process.waitForExit(timeout: timeout)
        return (status, process.output)
    }

    /// Sends a command and returns the worker's reply.
    func request(_ command: Command) async throws -> Reply {
        try await messaging.request(command, timeout: .seconds(30))
    }

    /// Waits for an execution to reach a finished status.
    func finished(_ id: Int64, timeout: Duration = .seconds(60)) async throws -> JobExecution {
        var finished: JobExecution?
        try await eventually("execution \(id) finished", timeout: timeout, every: .milliseconds(50)) {
            finished = try await repository.jobExecution(id: id)
            return finished?.status.isFinished == true
        }
        return finished!
    }

    /// Runs `body` in a fresh world and always tears it down.
    static func with(_ body: (EndToEnd) async throws -> Void) async throws {
        let world = try await EndToEnd()
        do {
            try await body(world)
        } catch {
            await world.tearDown()
            throw error
        }
        await world.tearDown()
    }

    /// Publishes raw command bodies to the commands queue, confirmed.
    func publishCommands(_ bodies: [String]) async throws {
        for body in bodies {
            try await messaging.connection.publish(
                AMQPMessage(text: body, properties: AMQPProperties(contentType: "application/json")), exchange: "",
                routingKey: messaging.topology.commandsQueue)
        }
    }

    /// Takes `count` messages from the dead-letter queue: each body with its `x-batch-reason`.
    func deadLetters(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [(body: String, reason: String)] {
        let consumer = try await messaging.connection.consume(queue: messaging.topology.deadLetterQueue, prefetch: 100)
        let collected = try await withThrowingTaskGroup(of: [(body: String, reason: String)].self) { group in
            group.addTask {
                var letters: [(body: String, reason: String)] = []
                for try await delivery in consumer {
                    letters.append(
                        (
                            String(decoding: delivery.body, as: UTF8.self),
                            delivery.properties.headers["x-batch-reason"]?.stringValue ?? ""
                        ))
                    try delivery.ack()
                    if letters.count == count { break }
                }
                return letters
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw EndToEndError("fewer than \(count) dead letters within \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next() ?? []
        }
        try? await consumer.cancel()
        return collected
    }

    /// `(rows, distinct numbers)` the `count` demo wrote for an instance.
    func countRows(instanceId: Int64) async throws -> (rows: Int64, distinct: Int64) {
        let row = try await repository.pool.withConnection { connection in
            try await connection.query(
                "SELECT count(*) AS rows, count(DISTINCT n) AS distinct_n FROM \(name)_demo.count_items WHERE instance_id = $1",
                [.int(instanceId)]
            ).single()
        }
        return (try row.decode("rows"), try row.decode("distinct_n"))
    }

    /// Stops every worker still running, drops the schemas and deletes the queues and exchanges.
    func tearDown() async {
        for worker in workers.withLock({ $0 }) { worker.kill() }
        _ = try? await repository.pool.withConnection { connection in
            try await connection.query("DROP SCHEMA IF EXISTS \(name) CASCADE")
            try await connection.query("DROP SCHEMA IF EXISTS \(name)_demo CASCADE")
        }
        await repository.shutdown()
        let topology = messaging.topology
        for queue in [
            topology.commandsQueue, topology.deadLetterQueue, topology.commandsRetryQueue, topology.partitionsQueue,
            topology.partitionsRetryQueue,
        ] {
            try? await messaging.connection.deleteQueue(queue)
        }
        for exchange in [topology.deadLetterExchange, topology.controlExchange, topology.eventsExchange] {
            try? await messaging.connection.deleteExchange(exchange)
        }
        await messaging.connection.close()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}

struct EndToEndError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process (a worker or a CLI run) with its output captured in a file.
final class WorkerProcess: @unchecked Sendable {  // Process is thread-safe for what is used here
    let process = Process()
    let logPath: String

    init(executable: String, arguments: [String], environment: [String: String], log: String) throws {
        logPath = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func waitForLog(_ text: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(text) { return }
            guard process.isRunning else { throw EndToEndError("process exited early:\n\(output.suffix(3000))") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw EndToEndError("'\(text)' not logged within \(timeout):\n\(output.suffix(3000))")
    }

    func waitForExit(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill()
                throw EndToEndError("process still running after \(timeout):\n\(output.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    func terminate() { if process.isRunning { Foundation.kill(pid, SIGTERM) } }
    func kill() { if process.isRunning { Foundation.kill(pid, SIGKILL) } }
}
