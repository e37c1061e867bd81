import Batch
import BatchRabbitMQ
import BatchTestKit
import BatchWorker
import Synchronization
import Testing

/// The worker on its in-memory twins: the ack policy, capacity and pausing, drain on shutdown, dispatch of each
/// command, bad input, retries and replies — in process, without servers, each in well under a second.
@Suite("Worker, in memory", .timeLimit(.minutes(1)))
struct WorkerUnitTests {
    @Test("a start is acked and answered only once its execution row is committed")
    func ackAfterCommit() async throws {
        let gate = ShutdownFlag()
        let repository = InterceptingRepository(beforeCreate: { await gate.wait() })
        let harness = try WorkerHarness(jobs: [UnitJobs.hello], repository: repository)
        let start = harness.commands.enqueue(.start("hello"))
        try await eventually("the worker is creating the execution") { repository.createCalls == 1 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(start.settlement == nil, "not acked before the row commits")
        #expect(start.replies.isEmpty, "not answered before the row commits")
        gate.request()
        try await eventually("acked once committed") { start.settlement == .acked }
        let id = try WorkerHarness.accepted(start)
        try await eventually("the job completes") { try await harness.execution(id)?.status == .completed }
        _ = try await harness.shutDown().get()
    }

    @Test("capacity 2, 5 starts: 2 run, the source is paused holding nothing, it resumes when a slot frees")
    func capacityAndPausing() async throws {
        let gate = ShutdownFlag()
        let harness = try WorkerHarness(jobs: [UnitJobs.held(gate)], concurrency: 2)
        let starts = (1...5).map { harness.commands.enqueue(.start("held", parameters: ["n": .int(Int64($0))])) }
        try await eventually("paused at capacity") { harness.commands.isPaused }
        #expect(starts.filter { $0.settlement == .acked }.count == 2, "two taken and started")
        #expect(harness.commands.pendingCount == 3, "the rest wait in the source")
        #expect(try await harness.repository.jobExecutions(jobName: "held", limit: 10).count == 2)
        try await Task.sleep(for: .milliseconds(150))
        #expect(harness.commands.pendingCount == 3, "nothing more is taken while full")
        gate.request()
        try await eventually("every start ran") {
            let done = try await harness.repository.jobExecutions(jobName: "held", limit: 10)
            return done.count == 5 && done.allSatisfy { $0.status == .completed }
        }
        #expect(harness.commands.resumeCount >= 1, "resumed when a slot freed")
        #expect(!harness.commands.isPaused)
        #expect(starts.allSatisfy { $0.settlement == .acked })
        _ = try await harness.shutDown().get()
    }

    @Test("starts launch side by side; a stop sent after them is handled after them, and finds the last one running")
    func stopWaitsForTheStartsBeforeIt() async throws {
        // Each launch takes 30 ms, as a database round trip under load might: lanes overlap them.
        let launching = Mutex((now: 0, most: 0))
        let repository = InterceptingRepository(beforeCreate: {
            launching.withLock {
                $0.now += 1; $0.most = max($0.most, $0.now)
            }
            try await Task.sleep(for: .milliseconds(30))
            launching.withLock { $0.now -= 1 }
        })
        let harness = try WorkerHarness(jobs: [UnitJobs.slow], repository: repository, concurrency: 8)
        let starts = (1...3).map { harness.commands.enqueue(.start("slow", parameters: ["n": .int(Int64($0))])) }
        let stop = harness.commands.enqueue(.stop(job: "slow"))
        try await eventually("all settled") { (starts + [stop]).allSatisfy { $0.settlement != nil } }
        #expect(launching.withLock { $0.most } > 1, "launches overlapped")
        let ids = try starts.map(WorkerHarness.accepted)
        let stopped = try WorkerHarness.accepted(stop)
        #expect(ids.contains(stopped), "the stop found a started execution, not an empty instance list")
        try await eventually("the stopped one ended") { try await harness.execution(stopped)?.status == .stopped }
        for id in ids where id != stopped { #expect(try await harness.execution(id)?.status.isRunning == true) }
        _ = try await harness.shutDown().get()
    }

    @Test("graceful shutdown: no more commands, running jobs asked to stop end STOPPED, events flushed, deregistered")
    func drainOnShutdown() async throws {
        let harness = try WorkerHarness(jobs: [UnitJobs.slow, UnitJobs.hello])
        let id = try await startAndWait(harness, .start("slow"), until: .started)
        try await eventually("registered and beating") {
            harness.workers.workers["unit-worker"]?.heartbeats ?? 0 >= 1
        }
        let outcome = await harness.shutDown()
        #expect(throws: Never.self) { try outcome.get() }
        #expect(try await harness.execution(id)?.status == .stopped)
        let steps = try await harness.repository.stepExecutions(jobExecutionId: id)
        #expect(steps.map(\.status) == [.stopped])
        #expect(harness.commands.isCancelled, "no more commands taken")
        #expect(harness.events.statuses(of: id) == [.starting, .started, .stopping, .stopped])
        #expect(harness.workers.deregistered == ["unit-worker"])
        let late = harness.commands.enqueue(.start("hello"))
        try await Task.sleep(for: .milliseconds(50))
        #expect(late.settlement == nil, "a command after shutdown stays in the queue")
    }

    @Test("--grace is a deadline: a job that ignores the stop is marked FAILED and the group fails, in time")
    func graceDeadline() async throws {
        let gate = ShutdownFlag()
        defer { gate.request() }
        let harness = try WorkerHarness(jobs: [UnitJobs.held(gate)], grace: .milliseconds(200))
        let id = try await startAndWait(harness, .start("held"), until: .started)
        let started = ContinuousClock.now
        let outcome = await harness.shutDown()
        #expect(
            ContinuousClock.now - started < .seconds(5),
            "200 ms of grace, then the deadline (room for a loaded machine)")
        #expect(throws: BatchError.self) { try outcome.get() }
        let execution = try #require(try await harness.execution(id))
        #expect(execution.status == .failed)
        #expect(execution.exitMessage.contains("shut down before the job stopped"), "\(execution.exitMessage)")
        #expect(harness.commands.isClosed, "what the worker held goes back to the queue")
        #expect(harness.workers.deregistered.isEmpty, "the row stays, so the lease sweep can find what is left")
    }

    @Test("start, stop, restart and abandon are each dispatched, acked and answered; a stop is broadcast")
    func dispatchEachCommand() async throws {
        let harness = try WorkerHarness(jobs: [UnitJobs.slow])
        let first = try await startAndWait(harness, .start("slow"), until: .started)

        let stop = harness.commands.enqueue(.stop(executionId: first))
        try await eventually("stop acked") { stop.settlement == .acked }
        #expect(stop.replies == [.accepted(executionId: first)])
        #expect(harness.events.broadcasts.contains(.stop(executionId: first)), "every worker hears the stop")
        try await eventually("STOPPED") { try await harness.execution(first)?.status == .stopped }

        let second = try await startAndWait(harness, .restart(job: "slow"), until: .started)
        #expect(second != first)
        let restarted = try #require(try await harness.execution(second))
        let original = try #require(try await harness.execution(first))
        #expect(restarted.instanceId == original.instanceId, "a restart runs the same instance")

        let stopByName = harness.commands.enqueue(.stop(job: "slow"))
        try await eventually("stop by name acked") { stopByName.settlement == .acked }
        #expect(stopByName.replies == [.accepted(executionId: second)])
        try await eventually("STOPPED") { try await harness.execution(second)?.status == .stopped }

        let abandon = harness.commands.enqueue(.abandon(executionId: second))
        try await eventually("abandon acked") { abandon.settlement == .acked }
        #expect(abandon.replies == [.accepted(executionId: second)])
        #expect(try await harness.execution(second)?.status == .abandoned)
        _ = try await harness.shutDown().get()
    }

    @Test("a stop over the control source stops a job on a worker too busy to take commands")
    func stopOverControl() async throws {
        let harness = try WorkerHarness(jobs: [UnitJobs.slow], concurrency: 1)
        let id = try await startAndWait(harness, .start("slow"), until: .started)
        try await eventually("paused: full") { harness.commands.isPaused }
        harness.control.enqueue(.stop(executionId: id), wantsReply: false)
        try await eventually("STOPPED") { try await harness.execution(id)?.status == .stopped }
        _ = try await harness.shutDown().get()
    }

    @Test("bad input is dead-lettered with its reason and answered; nothing is written; the worker serves on")
    func badInputIsDeadLettered() async throws {
        let harness = try WorkerHarness(jobs: [UnitJobs.hello])
        let cases: [(InMemoryCommandSource.Delivery, String)] = [
            (harness.commands.enqueue(body: "{not json"), "JSON"),
            (harness.commands.enqueue(body: #"{"command":"launch","job":"hello"}"#), "launch"),
            (harness.commands.enqueue(body: #"{"command":"start","job":"hello","job":"x"}"#), "duplicate"),
            (harness.commands.enqueue(.start("no-such-job")), "no job named 'no-such-job'"),
            (harness.commands.enqueue(.start("hello", parameters: ["who": "a\u{0}b"])), "NUL"),
            (harness.commands.enqueue(Command(action: .start, target: .execution(7))), "takes a job name"),
        ]
        for (delivery, expected) in cases {
            try await eventually("settled: \(delivery.body)") { delivery.settlement != nil }
            guard case .deadLettered(let reason) = delivery.settlement else {
                Issue.record("not dead-lettered: \(String(describing: delivery.settlement))")
                continue
            }
            #expect(reason.contains(expected), "reason: \(reason)")
            #expect(delivery.replies == [.refused(reason)], "answered with the reason")
        }
        #expect(try await harness.repository.jobExecutions(jobName: nil, limit: 10).isEmpty, "nothing written")
        let good = harness.commands.enqueue(.start("hello"))
        try await eventually("still serving") { good.settlement == .acked }
        _ = try await harness.shutDown().get()
    }

    @Test("a passing failure is retried with attempts + 1, then dead-lettered at the limit with its last error")
    func transientFailureRetriesThenDeadLetters() async throws {
        let repository = InterceptingRepository(beforeCreate: { throw ConnectionLost() })
        let harness = try WorkerHarness(
            jobs: [UnitJobs.hello], repository: repository,
            commandRetry: CommandRetryPolicy(maximumAttempts: 3, initialDelay: .milliseconds(1)))
        harness.commands.enqueue(.start("hello"))
        try await eventually("three attempts") {
            harness.commands.deliveries.count == 3 && harness.commands.deliveries[2].settlement != nil
        }
        let settlements = harness.commands.deliveries.map(\.settlement)
        #expect(harness.commands.deliveries.map(\.attempts.attempts) == [0, 1, 2])
        guard case .retried(let firstCount, _)? = settlements[0], case .retried(let secondCount, _)? = settlements[1],
            case .deadLettered(let reason)? = settlements[2]
        else {
            Issue.record("settlements: \(settlements)")
            return
        }
        #expect(firstCount.attempts == 1 && secondCount.attempts == 2)
        #expect(firstCount.lastError == "connection lost")
        #expect(reason.contains("gave up after 3 attempts") && reason.contains("connection lost"), "\(reason)")
        #expect(harness.commands.deliveries[0].replies.isEmpty, "a retried command is not answered yet")
        #expect(harness.commands.deliveries[2].replies == [.refused(reason)])
        #expect(repository.createCalls == 3)
        _ = try await harness.shutDown().get()
    }

    @Test("answers only when asked: accepted with the id, refused with the rule's reason, nothing without reply_to")
    func replyOnRequest() async throws {
        let harness = try WorkerHarness(jobs: [UnitJobs.slow])
        let id = try await startAndWait(harness, .start("slow"), until: .started)
        let again = harness.commands.enqueue(.start("slow"))
        try await eventually("refused") { again.settlement == .acked }
        guard case .refused(let reason)? = again.replies.first else {
            Issue.record("replies: \(again.replies)")
            return
        }
        #expect(reason.contains("already running"), "\(reason)")
        let silent = harness.commands.enqueue(.stop(executionId: id), wantsReply: false)
        try await eventually("stop acked") { silent.settlement == .acked }
        #expect(silent.replies.isEmpty)
        _ = try await harness.shutDown().get()
    }

    @Test("a scheduled start delivered twice runs once: after its run FAILED, the copy is refused, acked, not run")
    func scheduledStartDeliveredTwice() async throws {
        let runs = Recorder<Int>()
        let failing = Job("nightly") {
            Step("fail") { _ in
                runs.append(1)
                throw BatchError(.invalidState, "the source was not there")
            }
        }
        let harness = try WorkerHarness(jobs: [failing])
        let slot: [String: JSONValue] = ["scheduledTime": "2026-12-02T02:00:00Z"]
        let id = try await startAndWait(
            harness, .start("nightly", parameters: slot, newInstanceOnly: true), until: .failed)
        let copy = harness.commands.enqueue(.start("nightly", parameters: slot, newInstanceOnly: true))
        try await eventually("the copy is settled") { copy.settlement != nil }
        #expect(copy.settlement == .acked, "refused and dropped, neither retried nor dead-lettered")
        guard case .refused(let reason)? = copy.replies.first else {
            Issue.record("replies: \(copy.replies)")
            return
        }
        #expect(reason.contains("execution \(id)") && reason.contains("restart"), "\(reason)")
        #expect(runs.all.count == 1, "the job ran once")
        #expect(try await harness.repository.jobExecutions(jobName: "nightly", limit: 10).count == 1)
        // An ordinary start of the same instance still runs it again, as the start rules allow after FAILED.
        _ = try await startAndWait(harness, .start("nightly", parameters: slot), until: .failed)
        #expect(runs.all.count == 2)
        _ = try await harness.shutDown().get()
    }

    /// Enqueues `command`, waits for its acceptance and for the execution to reach `status`; returns its id.
    func startAndWait(
        _ harness: WorkerHarness, _ command: Command, until status: BatchStatus
    ) async throws -> Int64 {
        let delivery = harness.commands.enqueue(command)
        try await eventually("accepted") { delivery.settlement == .acked }
        let id = try WorkerHarness.accepted(delivery)
        try await eventually("\(status.rawValue)") { try await harness.execution(id)?.status == status }
        return id
    }
}
