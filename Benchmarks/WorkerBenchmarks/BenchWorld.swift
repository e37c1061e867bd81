import Batch
import BatchPostgres
import BatchRabbitMQ
import Dispatch
import Foundation
import Logging
import Synchronization

/// One isolated world for the benchmarks: its own schema, demo schema and queue prefix, the `swiftbatch worker`
/// processes spawned into it, and direct handles on the database and the broker. ``tearDown()`` kills the workers,
/// drops the schemas and deletes the queues and exchanges.
final class BenchWorld: Sendable {
    let name: String
    let executable: String
    let databaseURL: String
    let amqpURL: String
    let dataDirectory: String
    let repository: PostgresJobRepository
    let messaging: BatchMessaging
    private let workers = Mutex<[WorkerProcess]>([])
    /// Extra schemas made for fresh-schema start-ups, dropped at tear-down.
    private let extraSchemas = Mutex<[String]>([])
    /// Measurements repeated, and why.
    private let disruptionLog = Mutex<[String]>([])

    static let logger = Logger(label: "WorkerBenchmarks", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A new world, or (with `name`) the leftovers of an interrupted run, to tear down.
    init(executable: String, databaseURL: String, amqpURL: String, name: String? = nil) async throws {
        let name = name ?? "wbench_" + String(UInt32.random(in: .min ... .max), radix: 36)
        self.name = name
        self.executable = executable
        self.databaseURL = databaseURL
        self.amqpURL = amqpURL
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        var configuration = try PostgresConfiguration(url: databaseURL)
        configuration.schema = name
        repository = try PostgresJobRepository(configuration: configuration, logger: Self.logger)
        let connection = try await AMQPConnection.connect(
            configuration: AMQPConfiguration(url: amqpURL), logger: Self.logger)
        messaging = BatchMessaging(connection: connection, topology: BatchTopology(prefix: name), logger: Self.logger)
        try await messaging.declareTopology()
    }

    /// The environment of a worker: this world's database, schemas, broker, prefix and data directory.
    func environment(schema: String? = nil) -> [String: String] {
        [
            "BATCH_DATABASE_URL": databaseURL, "BATCH_DATABASE_SCHEMA": schema ?? name,
            "BATCH_DEMO_SCHEMA": name + "_demo", "BATCH_AMQP_URL": amqpURL, "BATCH_PREFIX": name,
            "BATCH_DATA_DIR": dataDirectory, "BATCH_LOG_LEVEL": "info",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
    }

    /// A schema name of this world's for a fresh-schema start-up; dropped at tear-down.
    func freshSchema() -> String {
        extraSchemas.withLock { schemas in
            let schema = "\(name)_fresh\(schemas.count + 1)"
            schemas.append(schema)
            return schema
        }
    }

    /// Spawns `swiftbatch worker arguments` without waiting for it.
    func spawnWorker(_ arguments: [String], schema: String? = nil, executable: String? = nil) throws -> WorkerProcess {
        // WORKER_BENCH_LOG_DIR: keep each worker's log there; WORKER_BENCH_LOG_LEVEL: their log level (default info).
        let settings = ProcessInfo.processInfo.environment
        var environment = environment(schema: schema)
        if let level = settings["WORKER_BENCH_LOG_LEVEL"], !level.isEmpty { environment["BATCH_LOG_LEVEL"] = level }
        let logFile = settings["WORKER_BENCH_LOG_DIR"].flatMap { $0.isEmpty ? nil : $0 }.map {
            "\($0)/\(name)-worker-\(workers.withLock { $0.count + 1 }).log"
        }
        let worker = try WorkerProcess(
            executable: executable ?? self.executable, arguments: ["worker"] + arguments, environment: environment,
            logFile: logFile)
        workers.withLock { $0.append(worker) }
        return worker
    }

    /// Spawns a worker and waits until it consumes.
    func startWorker(_ arguments: [String], executable: String? = nil) async throws -> WorkerProcess {
        let worker = try spawnWorker(arguments, executable: executable)
        _ = try await worker.waitFor("worker consuming")
        return worker
    }

    /// Drops a schema (and everything in it).
    func dropSchema(_ schema: String) async {
        _ = try? await repository.pool.withConnection { connection in
            try await connection.query("DROP SCHEMA IF EXISTS \(schema) CASCADE")
        }
    }

    /// How many job executions of `job` are in `status`, by the database.
    func executionCount(job: String, status: BatchStatus) async throws -> Int64 {
        try await repository.pool.withConnection { connection in
            try await connection.query(
                "SELECT count(*) AS n FROM \(name).job_executions WHERE job_name = $1 AND status = $2",
                [.text(job), .text(status.rawValue)]
            ).single().decode("n")
        }
    }

    /// The worker id a worker process registered with.
    func workerId(of worker: WorkerProcess) async throws -> String {
        try await repository.pool.withConnection { connection in
            try await connection.query("SELECT id FROM \(name).workers WHERE pid = $1", [.int(Int(worker.pid))])
                .single().decode("id")
        }
    }

    /// How many executions of `job` ran on `workerId` and completed.
    func completedCount(job: String, workerId: String) async throws -> Int64 {
        try await repository.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT count(*) AS n FROM \(name).job_executions
                 WHERE job_name = $1 AND worker_id = $2 AND status = 'COMPLETED'
                """, [.text(job), .text(workerId)]
            ).single().decode("n")
        }
    }

    // MARK: - Disruptions

    /// The measurements repeated so far, and why.
    var disruptions: [String] { disruptionLog.withLock { $0 } }

    /// Runs `body`; when it is ``Disrupted``, records why, calls `recover` and runs it again, up to `attempts` times.
    func retrying<T>(
        _ what: String, attempts: Int = 4, recover: () async throws -> Void, _ body: () async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as Disrupted where attempt < attempts {
                disruptionLog.withLock { $0.append("\(what): \(error.description)") }
                progress("\(what) disrupted (\(error.description)); repeating it on fresh workers")
                try await recover()
                attempt += 1
            }
        }
    }

    /// After a disruption: kills every worker and empties the commands queue. The executions the killed workers
    /// left running are failed by the next worker's lost-worker sweep (see ``waitUntilNothingRuns(job:)``).
    func killWorkersAndPurge() async throws {
        let all = workers.withLock { $0 }
        for worker in all { worker.kill() }
        for worker in all { _ = await worker.waitForExit(timeout: .seconds(10)) }
        try await messaging.connection.purgeQueue(messaging.topology.commandsQueue)
    }

    /// Waits until no execution of `job` is running (a live worker's sweep fails those of killed workers after
    /// the lease).
    func waitUntilNothingRuns(job: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let running = try await repository.pool.withConnection { connection in
                try await connection.query(
                    """
                    SELECT count(*) AS n FROM \(name).job_executions
                     WHERE job_name = $1 AND status IN ('STARTING', 'STARTED', 'STOPPING')
                    """, [.text(job)]
                ).single().decode("n", as: Int64.self)
            }
            if running == 0 { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw BenchmarkError("executions of \(job) still running after \(timeout)")
    }

    /// SIGKILL to every worker still running (also from a signal handler).
    func killWorkers() {
        for worker in workers.withLock({ $0 }) { worker.kill() }
    }

    /// Kills the workers, drops the schemas, deletes the queues and exchanges and the data directory.
    func tearDown() async {
        killWorkers()
        for worker in workers.withLock({ $0 }) { _ = await worker.waitForExit(timeout: .seconds(5)) }
        let schemas =
            (try? await repository.pool.withConnection { connection in
                try await connection.query(
                    "SELECT nspname FROM pg_namespace WHERE nspname = $1 OR nspname LIKE $1 || '\\_%'", [.text(name)]
                ).map { try $0.decode("nspname", as: String.self) }
            }) ?? [name, name + "_demo"] + extraSchemas.withLock({ $0 })
        for schema in schemas { await dropSchema(schema) }
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

/// On SIGINT or SIGTERM: kills the world's workers, says what is left behind, exits 130. Keep the sources.
func installSignalHandlers(_ world: BenchWorld) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            world.killWorkers()
            FileHandle.standardError.write(
                Data(
                    ("WorkerBenchmarks: interrupted; workers killed. To drop the schemas \(world.name)* and delete the"
                        + " queues and exchanges \(world.name).*, run: WorkerBenchmarks --clean \(world.name)\n").utf8))
            exit(130)
        }
        source.resume()
        return source
    }
}
