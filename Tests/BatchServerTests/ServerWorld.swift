import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

extension Tag {
    /// Tests that start `swiftbatch` processes against the real PostgreSQL and RabbitMQ.
    @Tag static var endToEnd: Self
}

/// One isolated world for the server's tests: its own schema and queue prefix, a `swiftbatch server` process (and
/// worker processes when asked) of the built executable, and direct handles on the database and the broker.
final class ServerWorld: SandboxWorld {
    let sandbox: TestSandbox
    let port: Int
    let token: String?
    let server: WorkerProcess

    /// Creates the schema and the topology, then spawns `swiftbatch server` (``ready(workers:)`` waits for it).
    init(token: String? = nil, serverArguments: [String] = []) async throws {
        sandbox = try await TestSandbox(prefix: "srv_", logLevel: "debug")
        self.token = token
        port = try freePort()
        var environment = sandbox.environment
        if let token { environment["BATCH_API_TOKEN"] = token }
        server = try sandbox.launch(
            ["server", "--http", "127.0.0.1:\(port)", "--no-migrate"] + serverArguments, environment: environment,
            log: "server.log")
    }

    /// Waits until the server listens, then starts `workers` workers.
    func ready(workers: Int) async throws {
        try await server.waitForLog("server listening", timeout: .seconds(30))
        for _ in 0..<workers { try await startWorker() }
    }

    /// Starts a worker process and waits until it consumes.
    @discardableResult
    func startWorker() async throws -> WorkerProcess {
        try await sandbox.startWorker(["--concurrency", "4"])
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
    func tearDown() async { await sandbox.tearDown() }

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
