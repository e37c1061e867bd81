import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Tag {
    /// Tests that start `swiftbatch` processes against the real PostgreSQL and RabbitMQ.
    @Tag static var endToEnd: Self
}

/// One isolated world for the server's tests: its own schema and queue prefix, a `swiftbatch server` process (and
/// worker processes when asked) of the built executable, and direct handles on the database and the broker.
final class ServerWorld: Sendable {
    let name: String
    let environment: [String: String]
    let repository: PostgresJobRepository
    let messaging: BatchMessaging
    let directory: String
    let port: Int
    let token: String?
    let server: ChildProcess
    private let children = Mutex<[ChildProcess]>([])

    static let logger = Logger(label: "server-tests", factory: { _ in SwiftLogNoOpLogHandler() })

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

    /// Creates the schema and the topology, then spawns `swiftbatch server` (``ready(workers:)`` waits for it).
    init(token: String? = nil, serverArguments: [String] = []) async throws {
        name = "srv_" + String(UInt32.random(in: .min ... .max), radix: 36)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var environment = [
            "BATCH_DATABASE_URL": Self.databaseURL, "BATCH_DATABASE_SCHEMA": name, "BATCH_DEMO_SCHEMA": name + "_demo",
            "BATCH_AMQP_URL": Self.amqpURL, "BATCH_PREFIX": name, "BATCH_DATA_DIR": directory,
            "BATCH_LOG_LEVEL": "debug", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        self.environment = environment
        self.token = token
        var configuration = try PostgresConfiguration(url: Self.databaseURL)
        configuration.schema = name
        repository = try PostgresJobRepository(configuration: configuration, logger: Self.logger)
        try await repository.migrate()
        let connection = try await AMQPConnection.connect(
            configuration: AMQPConfiguration(url: Self.amqpURL), logger: Self.logger)
        messaging = BatchMessaging(connection: connection, topology: BatchTopology(prefix: name), logger: Self.logger)
        try await messaging.declareTopology()
        port = try Self.freePort()
        if let token { environment["BATCH_API_TOKEN"] = token }
        server = try ChildProcess(
            executable: Self.executable,
            arguments: ["server", "--http", "127.0.0.1:\(port)", "--no-migrate"] + serverArguments,
            environment: environment, log: "\(directory)/server.log")
        children.withLock { $0.append(server) }
    }

    /// Waits until the server listens, then starts `workers` workers.
    func ready(workers: Int) async throws {
        try await server.waitForLog("server listening", timeout: .seconds(30))
        for _ in 0..<workers { try await startWorker() }
    }

    /// Starts a worker process and waits until it consumes.
    @discardableResult
    func startWorker() async throws -> ChildProcess {
        let worker = try ChildProcess(
            executable: Self.executable, arguments: ["worker", "--concurrency", "4"], environment: environment,
            log: "\(directory)/worker-\(UUID().uuidString.prefix(8)).log")
        children.withLock { $0.append(worker) }
        try await worker.waitForLog("worker consuming", timeout: .seconds(30))
        return worker
    }

    /// A loopback port nobody listens on now.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else { throw HTTPTestError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: - HTTP

    /// The token header, when the world has a token.
    var authorization: [String: String] { token.map { ["Authorization": "Bearer \($0)"] } ?? [:] }

    func get(_ path: String, headers: [String: String]? = nil) async throws -> HTTPAnswer {
        try await RawHTTP.request(port: port, method: "GET", path: path, headers: headers ?? authorization)
    }

    func post(_ path: String, _ body: String = "", headers: [String: String]? = nil) async throws -> HTTPAnswer {
        var all = headers ?? authorization
        if !body.isEmpty { all["Content-Type"] = "application/json" }
        return try await RawHTTP.request(port: port, method: "POST", path: path, headers: all, body: Array(body.utf8))
    }

    func delete(_ path: String) async throws -> HTTPAnswer {
        try await RawHTTP.request(port: port, method: "DELETE", path: path, headers: authorization)
    }

    /// Starts a job over HTTP and returns the execution id of the 202.
    func start(_ job: String, _ parameters: String) async throws -> Int64 {
        let answer = try await post("/api/jobs/\(job)/start", parameters)
        guard answer.status == 202, let id = try answer.json.objectValue?["executionId"]?.intValue else {
            throw HTTPTestError("start of \(job) answered \(answer.status): \(answer.text)")
        }
        return id
    }

    /// Polls `GET /api/executions/{id}` until its status is `status`; returns the last body.
    @discardableResult
    func waitFor(_ id: Int64, status: String, timeout: Duration = .seconds(60)) async throws -> [String: JSONValue] {
        var last: [String: JSONValue] = [:]
        try await eventually("execution \(id) \(status)", timeout: timeout, every: .milliseconds(50)) {
            last = try await get("/api/executions/\(id)").json.objectValue ?? [:]
            return last["status"]?.stringValue == status
        }
        return last
    }

    /// Stops the processes, drops the schemas and deletes the queues and exchanges.
    func tearDown() async {
        for child in children.withLock({ $0 }) { child.kill() }
        _ = try? await repository.pool.withConnection { connection in
            try await connection.query("DROP SCHEMA IF EXISTS \(name) CASCADE")
            try await connection.query("DROP SCHEMA IF EXISTS \(name)_demo CASCADE")
        }
        await repository.shutdown()
        let topology = messaging.topology
        for queue in [topology.commandsQueue, topology.deadLetterQueue, topology.commandsRetryQueue] {
            try? await messaging.connection.deleteQueue(queue)
        }
        for exchange in [topology.deadLetterExchange, topology.controlExchange, topology.eventsExchange] {
            try? await messaging.connection.deleteExchange(exchange)
        }
        await messaging.connection.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `body` in a fresh world and always tears it down.
    static func with(
        token: String? = nil, workers: Int = 1, serverArguments: [String] = [],
        _ body: (ServerWorld) async throws -> Void
    ) async throws {
        let world = try await ServerWorld(token: token, serverArguments: serverArguments)
        do {
            // Inside: a server or worker that fails to come up is killed with the rest, not left running.
            try await world.ready(workers: workers)
            try await body(world)
        } catch {
            await world.tearDown()
            throw error
        }
        await world.tearDown()
    }
}

/// A child process (a worker or the server) with its output captured in a file.
final class ChildProcess: @unchecked Sendable {  // Process is thread-safe for what is used here
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

    func waitForLog(_ text: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(text) { return }
            guard process.isRunning else { throw HTTPTestError("process exited early:\n\(output.suffix(3000))") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HTTPTestError("'\(text)' not logged within \(timeout):\n\(output.suffix(3000))")
    }

    func kill() { if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) } }

    func terminate() { if process.isRunning { Foundation.kill(process.processIdentifier, SIGTERM) } }

    /// Waits for the process to exit; its status, or nil if it still runs after `timeout`.
    func exitStatus(within timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}
