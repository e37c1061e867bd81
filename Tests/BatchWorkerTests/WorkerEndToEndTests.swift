import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

/// The product as users meet it: worker processes of the built `swiftbatch`, driven over RabbitMQ, persisting in
/// PostgreSQL.
@Suite("Worker end to end", .tags(.endToEnd), .serialized, .timeLimit(.minutes(10)))
struct WorkerEndToEndTests {
    static func executionId(_ reply: Reply) throws -> Int64 {
        guard case .accepted(let id?) = reply else { throw EndToEndError("refused: \(reply)") }
        return id
    }

    @Test("a start message runs the job to COMPLETED, with events for each status")
    func startCompletes() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker(["--concurrency", "2"])
            let events = try await world.messaging.events(matching: "job.hello.*")
            let id = try Self.executionId(try await world.request(.start("hello", parameters: ["who": "e2e"])))
            let execution = try await world.finished(id)
            #expect(execution.status == .completed)
            #expect(execution.workerId != nil)
            var seen: [BatchStatus] = []
            for try await event in events where event.executionId == id {
                seen.append(event.status)
                if event.status == .completed { break }
            }
            #expect(seen == [.starting, .started, .completed])
        }
    }

    @Test(
        "count with failAt fails; a new-instance-only copy is refused; restart by id completes with exactly `items` rows"
    )
    func failAndRestart() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker()
            let start = Command.start(
                "count", parameters: ["items": 1_000, "chunkSize": 100, "failAt": 550], newInstanceOnly: true)
            let id = try Self.executionId(try await world.request(start))
            let failed = try await world.finished(id)
            #expect(failed.status == .failed)
            #expect(failed.exitMessage.contains("failAt"))
            #expect(try await world.countRows(instanceId: failed.instanceId) == (500, 500))
            // The same start again, as a scheduled slot's copy delivered twice: refused, not run again.
            guard case .refused(let reason) = try await world.request(start) else {
                Issue.record("a second new-instance-only start was not refused")
                return
            }
            #expect(reason.contains("execution \(id)"), "\(reason)")

            let restartedId = try Self.executionId(try await world.request(.restart(executionId: id)))
            let restarted = try await world.finished(restartedId)
            #expect(restarted.status == .completed)
            #expect(try await world.countRows(instanceId: failed.instanceId) == (1_000, 1_000))
        }
    }

    @Test("a stop by name over the queue ends a slow job STOPPED within a chunk; restart completes it exactly")
    func stopAndRestart() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker()
            let parameters: [String: JSONValue] = ["items": 200, "chunkSize": 10, "delayMs": 20]
            let id = try Self.executionId(try await world.request(.start("count", parameters: parameters)))
            try await eventually("two chunks committed", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.repository.stepExecutions(jobExecutionId: id).first?.counters.commit ?? 0 >= 2
            }
            let stop = try await world.request(.stop(job: "count"))
            #expect(stop == .accepted(executionId: id))
            let commitsAtStop =
                try await world.repository.stepExecutions(jobExecutionId: id).first?.counters.commit ?? 0
            let stopped = try await world.finished(id)
            #expect(stopped.status == .stopped)
            let step = try #require(try await world.repository.stepExecutions(jobExecutionId: id).first)
            #expect(step.status == .stopped)
            #expect(step.counters.commit <= commitsAtStop + 1, "stopped within one chunk of the request")
            #expect(step.counters.read < 200)

            let restartedId = try Self.executionId(try await world.request(.restart(job: "count")))
            #expect(try await world.finished(restartedId).status == .completed)
            #expect(try await world.countRows(instanceId: stopped.instanceId) == (200, 200))
        }
    }

    @Test("a worker killed mid-job: FAILED within the lease, restarted on another worker, exactly `items` rows")
    func killedWorker() async throws {
        try await EndToEnd.with { world in
            let doomed = try await world.startWorker(["--lease", "2", "--heartbeat", "0.5"])
            let id = try Self.executionId(
                try await world.request(.start("count", parameters: ["items": 300, "chunkSize": 10, "delayMs": 10])))
            try await eventually("three chunks committed", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.repository.stepExecutions(jobExecutionId: id).first?.counters.commit ?? 0 >= 3
            }
            doomed.kill()
            _ = try await doomed.waitForExit(timeout: .seconds(10))
            let killedAt = ContinuousClock.now
            try await world.startWorker(["--lease", "2", "--heartbeat", "0.5"])
            let failed = try await world.finished(id, timeout: .seconds(20))
            #expect(failed.status == .failed)
            #expect(failed.exitMessage.contains("was lost"))
            #expect(ContinuousClock.now - killedAt < .seconds(10))

            let restartedId = try Self.executionId(try await world.request(.restart(executionId: id)))
            #expect(try await world.finished(restartedId).status == .completed)
            #expect(try await world.countRows(instanceId: failed.instanceId) == (300, 300))
        }
    }

    @Test("two workers, 50 identical start messages: exactly one execution, the rest refused")
    func identicalStarts() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker()
            try await world.startWorker()
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await world.request(
                            .start("count", parameters: ["items": 200, "delayMs": 2, "run": "same"]))
                    }
                }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            let accepted = replies.filter(\.isAccepted)
            #expect(accepted.count == 1)
            for case .refused(let message) in replies {
                #expect(message.contains("already running") || message.contains("already completed"))
            }
            let executions = try await world.repository.jobExecutions(jobName: "count", limit: 100)
            #expect(executions.count == 1)
            let id = try Self.executionId(try #require(accepted.first))
            #expect(try await world.finished(id).status == .completed)
        }
    }

    @Test("undecodable, unknown-job and bad-parameter messages are dead-lettered with reasons; the worker serves on")
    func badInput() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker()
            let topology = world.messaging.topology
            let bodies: [(String, String)] = [
                ("{not json", "JSON"),
                (#"{"command":"start","job":"no-such-job"}"#, "no job named 'no-such-job'"),
                (#"{"command":"start","job":"daily-accounting","params":{"date":"yesterday"}}"#, "'date'"),
                (#"{"command":"launch","job":"hello"}"#, "launch"),
            ]
            for (body, _) in bodies {
                try await world.messaging.connection.publish(
                    AMQPMessage(text: body, properties: AMQPProperties(contentType: "application/json")), exchange: "",
                    routingKey: topology.commandsQueue)
            }
            let dead = try await world.messaging.connection.consume(queue: topology.deadLetterQueue, prefetch: 10)
            var reasons: [String: String] = [:]
            for try await delivery in dead {
                reasons[String(decoding: delivery.body, as: UTF8.self)] =
                    delivery.properties.headers["x-batch-reason"]?.stringValue
                try delivery.ack()
                if reasons.count == bodies.count { break }
            }
            for (body, expected) in bodies {
                let reason = try #require(reasons[body], "dead-lettered: \(body)")
                #expect(reason.contains(expected), "reason for \(body): \(reason)")
            }
            #expect(try await world.repository.jobExecutions(jobName: nil, limit: 10).isEmpty, "nothing written")
            let id = try Self.executionId(try await world.request(.start("hello")))
            #expect(try await world.finished(id).status == .completed, "the worker still serves")
        }
    }

    @Test("SIGTERM during a job: the job ends STOPPED and restartable, the worker exits 0")
    func gracefulShutdown() async throws {
        try await EndToEnd.with { world in
            let worker = try await world.startWorker(["--grace", "20"])
            let id = try Self.executionId(
                try await world.request(.start("count", parameters: ["items": 200, "chunkSize": 10, "delayMs": 20])))
            try await eventually("a chunk committed", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.repository.stepExecutions(jobExecutionId: id).first?.counters.commit ?? 0 >= 1
            }
            worker.terminate()
            #expect(try await worker.waitForExit(timeout: .seconds(30)) == 0)
            let stopped = try #require(try await world.repository.jobExecution(id: id))
            #expect(stopped.status == .stopped)
            try await world.startWorker()
            let restartedId = try Self.executionId(try await world.request(.restart(executionId: id)))
            #expect(try await world.finished(restartedId).status == .completed)
            #expect(try await world.countRows(instanceId: stopped.instanceId) == (200, 200))
        }
    }

    @Test("a full worker holds no more commands than it can run: the rest wait in the queue for a free slot")
    func capacity() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker(["--concurrency", "1"])
            let queue = world.messaging.topology.commandsQueue
            for run in 1...3 {
                try await world.messaging.send(
                    .start("count", parameters: ["items": 40, "chunkSize": 10, "delayMs": 25, "run": .int(Int64(run))]))
            }
            try await eventually("one execution", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.repository.jobExecutions(jobName: "count", limit: 10).count == 1
            }
            try await eventually("two messages waiting, no consumer", timeout: .seconds(30), every: .milliseconds(50)) {
                let status = try await world.messaging.connection.queueStatus(queue)
                return status.messages == 2 && status.consumers == 0
            }
            let running = try await world.repository.jobExecutions(jobName: "count", limit: 10)
            #expect(running.count == 1, "one job at a time")
            try await eventually("three executions completed", timeout: .seconds(60), every: .milliseconds(50)) {
                let executions = try await world.repository.jobExecutions(jobName: "count", limit: 10)
                return executions.count == 3 && executions.allSatisfy { $0.status == .completed }
            }
            #expect(try await world.messaging.connection.queueStatus(queue).messages == 0)
        }
    }

    @Test("`swiftbatch stop` reaches a worker too busy to take commands, over the control exchange")
    func stopReachesAFullWorker() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker(["--concurrency", "1"])
            let id = try Self.executionId(
                try await world.request(.start("count", parameters: ["items": 2_000, "chunkSize": 10, "delayMs": 10])))
            try await eventually("a chunk committed", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.repository.stepExecutions(jobExecutionId: id).first?.counters.commit ?? 0 >= 1
            }
            // A second start keeps the worker full: its consumer is paused, the commands queue unattended.
            try await world.messaging.send(.start("count", parameters: ["items": 10, "run": "queued"]))
            try await eventually("no consumer on the commands queue", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.messaging.connection.queueStatus(world.messaging.topology.commandsQueue).consumers == 0
            }
            let sent = ContinuousClock.now
            let stop = try await world.cli(["stop", String(id), "--timeout", "15"])
            // The broadcast stops the job; its freed slot then takes the stop command from the queue and answers.
            #expect(stop.status == 0, "\(stop.output)")
            let stopped = try await world.finished(id, timeout: .seconds(10))
            #expect(stopped.status == .stopped, "the running worker heard the broadcast")
            #expect(ContinuousClock.now - sent < .seconds(10), "well before the job's 20 s of work")
            // The freed slot takes the queued start.
            try await eventually("two executions", timeout: .seconds(30), every: .milliseconds(50)) {
                try await world.repository.jobExecutions(jobName: "count", limit: 10).count == 2
            }
        }
    }

    @Test("`run` in this process: SIGINT ends the job STOPPED, `run --restart` completes it exactly")
    func runInProcess() async throws {
        try await EndToEnd.with { world in
            let run = try WorkerProcess(
                executable: EndToEnd.executable,
                arguments: ["run", "count", "--params", #"{"items":300,"chunkSize":10,"delayMs":10}"#],
                environment: world.environment, log: "\(world.directory)/run.log")
            try await eventually("two chunks committed", timeout: .seconds(30), every: .milliseconds(50)) {
                let id = try await world.repository.jobExecutions(jobName: "count", limit: 1).first?.id
                guard let id else { return false }
                return try await world.repository.stepExecutions(jobExecutionId: id).first?.counters.commit ?? 0 >= 2
            }
            kill(run.pid, SIGINT)
            #expect(try await run.waitForExit(timeout: .seconds(20)) == 1, "not COMPLETED: exit 1")
            let stopped = try #require(try await world.repository.jobExecutions(jobName: "count", limit: 1).first)
            #expect(stopped.status == .stopped)
            #expect(stopped.workerId?.hasPrefix("run-") == true, "recorded like a worker, so a crash is swept")
            let restarted = try await world.cli(["run", "count", "--restart"])
            #expect(restarted.status == 0, "\(restarted.output)")
            #expect(try await world.countRows(instanceId: stopped.instanceId) == (300, 300))
        }
    }

    @Test("`run`: a second SIGINT ends a job that does not reach its stop at once (exit 130), its execution FAILED")
    func runSecondInterrupt() async throws {
        try await EndToEnd.with { world in
            // One chunk of 1,000 items at 300 ms each: the first stop is seen only when it ends, in five minutes.
            let run = try world.sandbox.launch(
                ["run", "count", "--params", #"{"items":1000,"chunkSize":1000,"delayMs":300}"#], log: "run-twice.log")
            try await run.waitForLog("job STARTED", timeout: .seconds(30))
            kill(run.pid, SIGINT)
            try await run.waitForLog("job STOPPING", timeout: .seconds(30))
            #expect(run.isRunning, "the first signal only asks the job to stop")
            kill(run.pid, SIGINT)
            #expect(try await run.waitForExit(timeout: .seconds(20)) == 130, "\(run.output)")
            let execution = try #require(try await world.repository.jobExecutions(jobName: "count", limit: 1).first)
            #expect(execution.status == .failed, "restartable, not left STOPPING")
            #expect(execution.exitMessage.contains("interrupted"), "\(execution.exitMessage)")
        }
    }

    @Test("`run` of a job that ends before the first heartbeat does exits 0 with no warning")
    func runShortJobQuietly() async throws {
        try await EndToEnd.with { world in
            for attempt in 1...3 {
                let run = try await world.cli(["run", "hello", "--params", #"{"attempt":\#(attempt)}"#])
                #expect(run.status == 0, "\(run.output)")
                #expect(run.output.contains("COMPLETED"))
                #expect(!run.output.contains(" warning "), "\(run.output)")
                #expect(!run.output.contains(" error "), "\(run.output)")
            }
        }
    }

    @Test("`run --database-url` writes the demo job's rows where its executions go, whatever BATCH_DATABASE_URL says")
    func runHonoursDatabaseFlag() async throws {
        try await EndToEnd.with { world in
            var environment = world.environment
            let url = try #require(environment["BATCH_DATABASE_URL"])
            // Nothing listens on port 1: a pool opened from the environment fails the step.
            environment["BATCH_DATABASE_URL"] = "postgres://batch:unused@127.0.0.1:1/batch"
            let process = try world.sandbox.launch(
                ["run", "count", "--database-url", url, "--params", #"{"items":20,"chunkSize":5}"#],
                environment: environment, log: "run-flag.log")
            let status = try await process.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "\(process.output)")
            let execution = try #require(try await world.repository.jobExecutions(jobName: "count", limit: 1).first)
            #expect(execution.status == .completed)
            #expect(try await world.countRows(instanceId: execution.instanceId) == (20, 20))
        }
    }

    @Test("start --wait exits 0 on COMPLETED and 1 otherwise")
    func waitExitCodes() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker()
            let ok = try await world.cli(["start", "hello", "--params", #"{"who":"wait"}"#, "--wait"])
            #expect(ok.status == 0, "\(ok.output)")
            #expect(ok.output.contains("COMPLETED"))
            let failing = try await world.cli(["start", "count", "--params", #"{"items":50,"failAt":5}"#, "--wait"])
            #expect(failing.status == 1, "\(failing.output)")
            #expect(failing.output.contains("FAILED"))
            let unknown = try await world.cli(["start", "no-such-job"])
            #expect(unknown.status != 0)
            #expect(unknown.output.contains("no job named"))
        }
    }
}
