import Batch
import BatchTestKit
import Testing

@Suite("Starting jobs")
struct StartTests {
    @Test("start runs the steps in order and waits for the end")
    func startSync() async throws {
        let order = Recorder<String>()
        let job = Job("ordered") {
            Step("one") { _ in order.append("one") }
            Step("two") { context in order.append("two:\(try context.parameters.string("date"))") }
        }
        let jobOperator = try makeOperator(job)
        let execution = try await jobOperator.start("ordered", params: #"{"date":"2026-11-25"}"#)
        #expect(execution.status == .completed)
        #expect(execution.exitCode == "COMPLETED")
        #expect(execution.startTime != nil && execution.endTime != nil)
        #expect(order.all == ["one", "two:2026-11-25"])
        let detail = try await jobOperator.execution(execution.id)
        #expect(detail.steps.map(\.stepName) == ["one", "two"])
        #expect(detail.steps.allSatisfy { $0.status == .completed && $0.endTime != nil })
        #expect(detail.instance.parameters == execution.parameters)
    }

    @Test("startAsync returns the execution id while the job still runs")
    func startAsync() async throws {
        let gate = Gate()
        let job = Job("async") { Step("wait") { _ in await gate.wait() } }
        let jobOperator = try makeOperator(job)
        let id = try await jobOperator.startAsync("async", params: "{}")
        #expect(try await eventually { try await jobOperator.execution(id).execution.status == .started })
        gate.open()
        let finished = try await jobOperator.wait(for: id)
        #expect(finished.status == .completed)
    }

    @Test("start is refused while the instance runs, and nothing is stored")
    func refusedWhileRunning() async throws {
        let gate = Gate()
        let job = Job("busy") { Step("wait") { _ in await gate.wait() } }
        let jobOperator = try makeOperator(job)
        let id = try await jobOperator.startAsync("busy", params: #"{"d":1}"#)
        let error = await #expect(throws: BatchError.self) {
            try await jobOperator.startAsync("busy", params: #"{"d":1}"#)
        }
        #expect(error?.code == .alreadyRunning)
        #expect(error?.message.contains("already running") == true)
        let other = try await jobOperator.startAsync("busy", params: #"{"d":2}"#)
        gate.open()
        #expect(try await jobOperator.wait(for: id).status == .completed)
        #expect(try await jobOperator.wait(for: other).status == .completed)
        #expect(try await jobOperator.executions(jobName: "busy").count == 2)
    }

    @Test("start is refused after the instance completed")
    func refusedAfterCompletion() async throws {
        let jobOperator = try makeOperator(Job("once") { Step("s") { _ in } })
        _ = try await jobOperator.start("once", params: #"{"date":"2026-11-25"}"#)
        let error = await #expect(throws: BatchError.self) {
            try await jobOperator.start("once", params: #"{"date":"2026-11-25"}"#)
        }
        #expect(error?.code == .alreadyComplete)
        #expect(error?.message.contains("new identifying parameters") == true)
    }

    @Test("an unknown job is refused, naming the registered ones")
    func unknownJob() async throws {
        let jobOperator = try makeOperator(Job("known") { Step("s") { _ in } })
        let error = await #expect(throws: BatchError.self) { try await jobOperator.start("nope") }
        #expect(error?.code == .jobNotFound)
        #expect(error?.message.contains("registered: known") == true)
        #expect(try await jobOperator.executions().isEmpty)
    }

    @Test("parameters refused by the validator store nothing")
    func invalidParameters() async throws {
        let job = Job("validated") { Step("s") { _ in } }
            .validator { parameters in _ = try parameters.date("date") }
        let jobOperator = try makeOperator(job)
        let error = await #expect(throws: BatchError.self) {
            try await jobOperator.start("validated", params: #"{"date":"tomorrow"}"#)
        }
        #expect(error?.code == .invalidParameters)
        #expect(error?.message.contains("'date'") == true)
        let malformed = await #expect(throws: BatchError.self) {
            try await jobOperator.start("validated", params: #"{"date":"#)
        }
        #expect(malformed?.code == .invalidParameters)
        #expect(try await jobOperator.executions().isEmpty)
    }

    @Test("a failed instance can be started again with the same parameters")
    func startAfterFailure() async throws {
        let failOnce = FailOnce()
        let job = Job("flaky") { Step("s") { _ in if failOnce.shouldFail("s") { throw Boom() } } }
        let jobOperator = try makeOperator(job)
        let first = try await jobOperator.start("flaky", params: #"{"n":1}"#)
        #expect(first.status == .failed)
        #expect(first.exitMessage.contains("boom"))
        let second = try await jobOperator.start("flaky", params: #"{"n":1}"#)
        #expect(second.status == .completed)
        #expect(second.instanceId == first.instanceId)
    }

    @Test("registering a job name twice, or an invalid definition, is an error")
    func registry() throws {
        let registry = try JobRegistry([Job("a") { Step("s") { _ in } }])
        #expect(throws: BatchError.self) { try registry.register(Job("a") { Step("t") { _ in } }) }
        let duplicateSteps = #expect(throws: BatchError.self) {
            try registry.register(
                Job("b") {
                    Step("s") { _ in }; Step("s") { _ in }
                })
        }
        #expect(duplicateSteps?.code == .invalidDefinition)
        let badChunk = #expect(throws: BatchError.self) {
            try registry.register(
                Job("c") {
                    ChunkStep(
                        "c", chunkSize: 0, reader: { _ in ArrayItemReader([1]) },
                        writer: { _ in
                            ClosureItemWriter<Int> { _ in }
                        })
                })
        }
        #expect(badChunk?.code == .invalidDefinition)
        #expect(throws: BatchError.self) { try registry.register(Job("empty", steps: [])) }
        #expect(registry.names == ["a"])
    }

    @Test("abandon marks a failed execution ABANDONED and its instance never runs again")
    func abandon() async throws {
        let job = Job("doomed") { Step("s") { _ in throw Boom() } }
        let jobOperator = try makeOperator(job)
        let failed = try await jobOperator.start("doomed", params: #"{"n":1}"#)
        let abandoned = try await jobOperator.abandon(executionId: failed.id)
        #expect(abandoned.status == .abandoned)
        let start = await #expect(throws: BatchError.self) {
            try await jobOperator.start("doomed", params: #"{"n":1}"#)
        }
        #expect(start.map { $0.code } == .abandoned)
        let restart = await #expect(throws: BatchError.self) { try await jobOperator.restart(.executionId(failed.id)) }
        #expect(restart?.code == .notRestartable)

        let ok = try makeOperator(Job("fine") { Step("s") { _ in } })
        let completed = try await ok.start("fine")
        let refused = await #expect(throws: BatchError.self) { try await ok.abandon(executionId: completed.id) }
        #expect(refused?.code == .cannotAbandon)
    }
}
