import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

/// Issue 9's attacks and accidents, against worker processes and the real servers: poison commands cannot stall the
/// fleet, a command that keeps failing is dead-lettered after a bounded number of attempts, and `--grace` is a
/// deadline whether the database answers or not.
@Suite("Hostile input and bounded shutdown", .tags(.endToEnd), .serialized, .timeLimit(.minutes(5)))
struct HostileInputTests {
    /// Sends SIGTERM to `worker` and waits (at most 15 s) for it to exit: its status and how long it took.
    static func terminate(_ worker: WorkerProcess) async throws -> (status: Int32, elapsed: Duration) {
        worker.terminate()
        let started = ContinuousClock.now
        let status = try await worker.waitForExit(timeout: .seconds(15))
        return (status, ContinuousClock.now - started)
    }

    /// Bodies that can never succeed, each reaching a different check.
    static let poison: [String] = [
        #"{"command":"start","job":"hello","params":{"who":"a\u0000b"}}"#,
        #"{"command":"start","job":"hello","params":"{\"who\":\"nul\\u0000\"}"}"#,
        #"{"command":"stop","job":"\u0000"}"#,
        #"{"command":"abandon","job":"\u0000"}"#,
        #"{"command":"restart","job":"\u0000"}"#,
        #"{"command":"start","job":"hello","job":"count"}"#,
        #"{"command":"start","job":"hello","params":{"n":18446744073709551616}}"#,
        #"{"command":"start","job":"hello","params":{"x":1e400}}"#,
        #"{"command":"start","job":"hello","params":{"deep":"# + String(repeating: "[", count: 1_000)
            + String(repeating: "]", count: 1_000) + "}}",
        #"{"command":"start","job":"daily-accounting","params":{"date":"2026-11-25","rows":9223372036854775807}}"#,
    ]

    @Test("100 starts behind 20 poison commands on 2 workers all complete; the poison is dead-lettered with reasons")
    func poisonDoesNotStallTheFleet() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker(["--concurrency", "2"])
            try await world.startWorker(["--concurrency", "2"])

            let clean = try await Self.flood(world, run: "clean", poison: [])
            let poison = Array((Self.poison + Self.poison).prefix(20))
            let poisoned = try await Self.flood(world, run: "poisoned", poison: poison)
            print("100 hello starts on 2 workers: \(clean) without poison, \(poisoned) behind 20 poison commands")
            // Before the fix the poisoned flood never completed (each poison command looped holding a slot).
            #expect(poisoned < clean * 3 + .seconds(5), "clean \(clean), poisoned \(poisoned)")

            let letters = try await world.deadLetters(poison.count)
            #expect(letters.count == poison.count)
            for letter in letters {
                #expect(!letter.reason.isEmpty, "no reason for \(letter.body)")
            }
            let reasons = letters.map(\.reason).joined(separator: "\n")
            #expect(reasons.contains("NUL"), "\(reasons)")
            #expect(reasons.contains("duplicate"), "\(reasons)")
            let executions = try await world.repository.jobExecutions(jobName: nil, limit: 500)
            #expect(executions.count == 200, "only the good starts stored anything")
            #expect(executions.allSatisfy { $0.jobName == "hello" && $0.status == .completed })
        }
    }

    @Test("a reply_to naming the framework's own queue gets no reply: one dead letter, not a second one for the answer")
    func replyToOwnQueueIgnored() async throws {
        try await EndToEnd.with { world in
            let worker = try await world.startWorker()
            let topology = world.messaging.topology
            try await world.messaging.connection.publish(
                AMQPMessage(
                    text: #"{"command":"start","job":"no-such-job"}"#,
                    properties: AMQPProperties(
                        contentType: "application/json", correlationID: "c1", replyTo: topology.commandsQueue)),
                exchange: "", routingKey: topology.commandsQueue)
            try await worker.waitForLog("names a queue of the framework", timeout: .seconds(20))
            let letters = try await world.deadLetters(1)
            #expect(letters.first?.reason.contains("no-such-job") == true)
            try await Task.sleep(for: .milliseconds(500))
            let status = try await world.messaging.connection.queueStatus(topology.deadLetterQueue)
            #expect(status.messages == 0, "no reply was dead-lettered after the command")
        }
    }

    @Test("a start before any worker ever ran waits in a queue and says no worker answered (not a broker 404)")
    func startBeforeAnyWorker() async throws {
        try await EndToEnd.with { world in
            let prefix = world.name + "_fresh"
            var environment = world.environment
            environment["BATCH_PREFIX"] = prefix
            let process = try WorkerProcess(
                executable: EndToEnd.executable, arguments: ["start", "hello", "--timeout", "1"],
                environment: environment, log: "\(world.directory)/fresh.log")
            let status = try await process.waitForExit(timeout: .seconds(30))
            #expect(status == 1)
            #expect(process.output.contains("no worker answered"), "\(process.output)")
            #expect(process.output.contains("stays queued"), "the user learns the start will still run")
            let topology = BatchTopology(prefix: prefix)
            let waiting = try await world.messaging.connection.queueStatus(topology.commandsQueue).messages
            #expect(waiting == 1, "the start waits for the first worker")
            for queue in [topology.commandsQueue, topology.deadLetterQueue, topology.commandsRetryQueue] {
                try? await world.messaging.connection.deleteQueue(queue)
            }
            for exchange in [topology.deadLetterExchange, topology.controlExchange, topology.eventsExchange] {
                try? await world.messaging.connection.deleteExchange(exchange)
            }
        }
    }

    /// Publishes the poison then 100 distinct hello starts; returns how long until all 100 COMPLETED.
    static func flood(_ world: EndToEnd, run: String, poison: [String]) async throws -> Duration {
        let started = ContinuousClock.now
        try await world.publishCommands(poison)
        try await world.publishCommands(
            (1...100).map { #"{"command":"start","job":"hello","params":{"who":"\#(run)-\#($0)"}}"# })
        try await eventually("every start completed", timeout: .seconds(120), every: .milliseconds(50)) {
            let done = try await world.repository.jobExecutions(jobName: "hello", limit: 500)
                .filter { $0.status == .completed }
            return done.count >= (run == "clean" ? 100 : 200)
        }
        return ContinuousClock.now - started
    }

    @Test(
        "a command that keeps meeting a passing failure is dead-lettered after 3 attempts; `dead-letters --requeue` runs it"
    )
    func boundedAttemptsAndReplay() async throws {
        try await EndToEnd.with { world in
            let proxy = try await DatabaseProxy(world)
            let worker = try await world.startWorker(
                [
                    "--database-url", proxy.url, "--command-attempts", "3", "--command-retry-delay", "0.2", "--grace",
                    "2",
                ])
            proxy.kill()  // the database vanishes for this worker only
            try await world.publishCommands([#"{"command":"start","job":"hello","params":{"who":"patient"}}"#])
            var listing = ""
            try await eventually("dead-lettered after 3 attempts", timeout: .seconds(90), every: .milliseconds(50)) {
                listing = try await world.cli(["dead-letters", "--json"]).output
                return listing.contains("gave up after 3 attempts")
            }
            #expect(worker.output.contains("it will be tried again"), "retries are logged")
            #expect(try await world.repository.jobExecutions(jobName: nil, limit: 10).isEmpty)
            worker.terminate()
            let started = ContinuousClock.now
            _ = try await worker.waitForExit(timeout: .seconds(10))
            // In time: well inside the 10 s a stuck reconnect would take (room for a stalled, loaded machine).
            #expect(ContinuousClock.now - started < .seconds(7), "an idle worker with its database down exits in time")

            let json = try #require(listing.split(separator: "\n").first { $0.hasPrefix("[") }, "\(listing)")
            let parsed = try JSONValue(parsing: json)
            let letters = try #require(parsed.arrayValue, "\(listing)")
            #expect(letters.count == 1, "\(listing)")
            let id = try #require(letters.first?.objectValue?["id"]?.stringValue, "\(listing)")
            try await world.startWorker()
            let requeue = try await world.cli(["dead-letters", "--requeue", id])
            #expect(requeue.status == 0, "\(requeue.output)")
            try await eventually("the replayed start completed", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.repository.jobExecutions(jobName: "hello", limit: 10).first?.status == .completed
            }
            let after = try await world.cli(["dead-letters", "--json"]).output
            #expect(after.split(separator: "\n").contains("[]"), "the queue is empty: \(after)")
            let missing = try await world.cli(["dead-letters", "--requeue", id])
            #expect(missing.status != 0 && missing.output.contains("no dead letter with id"), "\(missing.output)")
        }
    }

    @Test("--grace is a deadline: a chunk longer than grace, database up — exits non-zero in time, job marked FAILED")
    func graceDeadlineDatabaseUp() async throws {
        try await EndToEnd.with { world in
            let worker = try await world.startWorker(["--grace", "2"])
            let id = try WorkerEndToEndTests.executionId(
                try await world.request(.start("count", parameters: ["items": 5, "chunkSize": 1, "delayMs": 30_000])))
            try await eventually("started", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.repository.jobExecution(id: id)?.status == .started
            }
            try await Task.sleep(for: .milliseconds(300))
            let (status, elapsed) = try await Self.terminate(worker)
            // Grace 2 s, and far before the chunk's end 30 s in (room for a stalled, loaded machine).
            #expect(elapsed < .seconds(7), "exited after \(elapsed) with grace 2 s")
            #expect(status != 0, "a shutdown that left a job running is not a success")
            let execution = try #require(try await world.repository.jobExecution(id: id))
            #expect(execution.status == .failed)
            #expect(execution.exitMessage.contains("shut down before the job stopped"), "\(execution.exitMessage)")
            let steps = try await world.repository.stepExecutions(jobExecutionId: id)
            #expect(steps.allSatisfy { !$0.status.isRunning }, "no step left STARTED")
        }
    }

    @Test("--grace is a deadline with the database gone: exits non-zero in time; the lease sweep fails the job")
    func graceDeadlineDatabaseDown() async throws {
        try await EndToEnd.with { world in
            let proxy = try await DatabaseProxy(world)
            // A lease of 1 s (recorded with the worker's row): the sweep below finds it lost 1.5 s after it died.
            let worker = try await world.startWorker(["--database-url", proxy.url, "--grace", "2", "--lease", "1"])
            let id = try WorkerEndToEndTests.executionId(
                try await world.request(.start("count", parameters: ["items": 50, "chunkSize": 1, "delayMs": 500])))
            try await eventually("started", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.repository.jobExecution(id: id)?.status == .started
            }
            proxy.kill()
            try await Task.sleep(for: .milliseconds(300))
            let (status, elapsed) = try await Self.terminate(worker)
            // Grace 2 s, not held by a commit or reconnect stuck on the dead database (its retries take ~10 s;
            // room for a stalled, loaded machine).
            #expect(elapsed < .seconds(7), "exited after \(elapsed) with grace 2 s")
            #expect(status != 0)
            try await Task.sleep(for: .seconds(1.5))
            let failed = try await world.repository.failExecutionsOfLostWorkers(lease: .seconds(1))
            #expect(failed.map(\.id).contains(id), "the lease sweep fails what the worker could not record")
        }
    }
}

/// `scripts/tcp-proxy` in front of PostgreSQL: killing it takes the database away from the workers pointed at it,
/// and from nobody else.
struct DatabaseProxy {
    let process: WorkerProcess
    let url: String

    init(_ world: EndToEnd) async throws {
        let root = try ComposeFileTests.packageRoot()
        var target = try #require(URLComponents(string: EndToEnd.databaseURL))
        process = try WorkerProcess(
            executable: root.appendingPathComponent("scripts/tcp-proxy").path,
            arguments: ["\(target.host ?? "127.0.0.1"):\(target.port ?? 5432)"], environment: world.environment,
            log: "\(world.directory)/proxy.log")
        try await process.waitForLog("listening on ", timeout: .seconds(10))
        let words = process.output.split(whereSeparator: \.isWhitespace)
        guard let last = words.last, let port = Int(last) else {
            throw EndToEndError("the proxy did not say its port: \(process.output)")
        }
        target.port = port
        url = try #require(target.string)
    }

    func kill() { process.kill() }
}
