import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Logging
import Testing

extension Tag {
    /// Tests that start worker processes against the real PostgreSQL and RabbitMQ: slower, run by `scripts/test`.
    @Tag static var endToEnd: Self
}

/// One isolated world for end-to-end tests: its own schema, demo schema and queue prefix, worker processes of
/// the built `swiftbatch`, and direct handles on the database and the broker to check what happened.
final class EndToEnd: SandboxWorld {
    let sandbox: TestSandbox

    static let logger = quietLogger
    static var databaseURL: String { TestSandbox.databaseURL }
    static var executable: String { TestSandbox.executable }

    init() async throws {
        sandbox = try await TestSandbox(prefix: "e2e_")
    }

    /// Starts a worker process and waits until it consumes.
    @discardableResult
    func startWorker(_ arguments: [String] = []) async throws -> WorkerProcess {
        try await sandbox.startWorker(arguments)
    }

    /// Runs the CLI to its end.
    func cli(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> (status: Int32, output: String) {
        let process = try sandbox.launch(arguments, log: "cli-\(UUID().uuidString.prefix(8)).log")
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
    func tearDown() async { await sandbox.tearDown() }
}

struct EndToEndError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
