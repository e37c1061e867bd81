import Batch
import BatchTestKit
import Testing

@Suite("Stop and restart")
struct StopRestartTests {
    /// A job whose tasklet loops until a stop is requested (or `gate` opens).
    static func loopingJob(_ name: String = "loop") -> Job {
        Job(name) {
            Step("first") { _ in }
            Step("loop") { context in
                var rounds = context.stepContext.int("rounds") ?? 0
                while rounds < 10_000 {
                    rounds += 1
                    context.stepContext["rounds"] = .int(Int64(rounds))
                    try await context.throwIfStopRequested()
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
            Step("last") { _ in }
        }
    }

    @Test("stop by job name: the last execution of the most recent instance ends STOPPED")
    func stopByName() async throws {
        let jobOperator = try makeOperator(Self.loopingJob())
        let other = try await jobOperator.startAsync("loop", params: #"{"n":1}"#)
        let id = try await jobOperator.startAsync("loop", params: #"{"n":2}"#)
        #expect(try await eventually { try await jobOperator.execution(id).steps.count == 2 })
        let stopping = try await jobOperator.stop("loop")
        #expect(stopping.id == id)
        let stopped = try await jobOperator.wait(for: id)
        #expect(stopped.status == .stopped)
        let steps = try await jobOperator.execution(id).steps
        #expect(steps.map(\.status) == [.completed, .stopped])
        #expect(try await jobOperator.execution(other).execution.status == .started, "the other instance runs on")
        try await jobOperator.stop(.executionId(other))
        #expect(try await jobOperator.wait(for: other).status == .stopped)
    }

    @Test("stop by execution id; stopping a finished execution by id is not an error")
    func stopById() async throws {
        let jobOperator = try makeOperator(Self.loopingJob())
        let id = try await jobOperator.startAsync("loop")
        #expect(try await eventually { try await jobOperator.execution(id).steps.count == 2 })
        try await jobOperator.stop(.executionId(id))
        let stopped = try await jobOperator.wait(for: id)
        #expect(stopped.status == .stopped)
        let again = try await jobOperator.stop(.executionId(id))
        #expect(again.status == .stopped)
        let byName = await #expect(throws: BatchError.self) { try await jobOperator.stop("loop") }
        #expect(byName?.code == .notRunning)
        let missing = await #expect(throws: BatchError.self) { try await jobOperator.stop(.executionId(9_999)) }
        #expect(missing?.code == .executionNotFound)
    }

    @Test("a stop seen through the repository (another process) ends the job at the next boundary")
    func stopThroughRepository() async throws {
        let repository = InMemoryJobRepository()
        let registry = try JobRegistry([Self.loopingJob()])
        let runner = JobOperator(registry: registry, repository: repository)
        let other = JobOperator(registry: registry, repository: repository)
        let id = try await runner.startAsync("loop")
        #expect(try await eventually { try await runner.execution(id).steps.count == 2 })
        try await other.stop(.executionId(id))
        #expect(try await runner.wait(for: id).status == .stopped)
    }

    @Test("restart by name and by id resumes a stopped tasklet from its saved context")
    func restartByNameAndId() async throws {
        let jobOperator = try makeOperator(Self.loopingJob())
        let id = try await jobOperator.startAsync("loop")
        #expect(try await eventually { try await jobOperator.execution(id).steps.count == 2 })
        try await jobOperator.stop("loop")
        _ = try await jobOperator.wait(for: id)
        let savedRounds = try #require(try await jobOperator.execution(id).steps.last?.context.int("rounds"))

        let second = try await jobOperator.restartAsync(.executionId(id))
        #expect(try await eventually { try await jobOperator.execution(second).steps.count == 1 })
        let resumedStep = try #require(try await jobOperator.execution(second).steps.first)
        #expect(resumedStep.stepName == "loop", "the completed first step is skipped")
        try await jobOperator.stop(.executionId(second))
        _ = try await jobOperator.wait(for: second)
        let rounds = try #require(try await jobOperator.execution(second).steps.first?.context.int("rounds"))
        #expect(rounds > savedRounds, "the second run counted on from the first run's saved rounds")

        // By the first execution's id: its instance's last execution (the second, STOPPED) is restarted.
        let third = try await jobOperator.restartAsync(.executionId(id))
        #expect(try await eventually { try await jobOperator.execution(third).steps.count == 1 })
        try await jobOperator.stop(.executionId(third))
        #expect(try await jobOperator.wait(for: third).status == .stopped)
        let executions = try await jobOperator.executions(jobName: "loop").map(\.id)
        #expect(executions == [third, second, id])
    }

    @Test(
        "restart is refused unless the last execution is STOPPED or FAILED",
        arguments: ["completed", "running", "never"])
    func restartRefused(situation: String) async throws {
        let gate = Gate()
        let jobOperator = try makeOperator(Job("r") { Step("s") { _ in await gate.wait() } })
        switch situation {
        case "completed":
            gate.open()
            _ = try await jobOperator.start("r")
        case "running":
            _ = try await jobOperator.startAsync("r")
        default:
            break
        }
        let error = await #expect(throws: BatchError.self) { try await jobOperator.restartAsync("r") }
        #expect(error?.code == (situation == "never" ? .executionNotFound : .notRestartable))
        gate.open()
        await jobOperator.waitForRunningExecutions()
    }

    @Test("a failed middle step is restarted alone: completed steps are skipped")
    func failedMiddleStep() async throws {
        let runs = Recorder<String>()
        let failOnce = FailOnce()
        let job = Job("three") {
            Step("a") { _ in runs.append("a") }
            Step("b") { context in
                runs.append("b")
                context.jobContext["from-b"] = "saved"
                if failOnce.shouldFail("b") { throw Boom() }
            }
            Step("c") { context in runs.append("c:\(context.jobContext.string("from-b") ?? "-")") }
        }
        let jobOperator = try makeOperator(job)
        let failed = try await jobOperator.start("three")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage == "step 'b' failed: boom")
        #expect(runs.all == ["a", "b"])
        let restarted = try await jobOperator.restart("three")
        #expect(restarted.status == .completed)
        #expect(runs.all == ["a", "b", "b", "c:saved"])
        #expect(try await jobOperator.execution(restarted.id).steps.map(\.stepName) == ["b", "c"])
    }
}
