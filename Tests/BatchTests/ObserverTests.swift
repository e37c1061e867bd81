import Batch
import BatchTestKit
import Testing

/// Records the statuses it is told of.
struct StatusRecorder: JobExecutionObserver {
    let seen = Recorder<BatchStatus>()
    func jobExecutionChanged(_ execution: JobExecution) async { seen.append(execution.status) }
}

@Suite("Execution observer")
struct ObserverTests {
    @Test("every status change is reported once it is stored, in order")
    func completedRun() async throws {
        let observer = StatusRecorder()
        let jobOperator = JobOperator(
            registry: try JobRegistry([
                Job("j") {
                    Step("a") { _ in }; Step("b") { _ in }
                }
            ]),
            repository: InMemoryJobRepository(), observer: observer, logger: quietLogger)
        _ = try await jobOperator.start("j")
        #expect(observer.seen.all == [.starting, .started, .completed])
    }

    @Test("a stopped run reports STOPPING and STOPPED; abandon reports ABANDONED")
    func stoppedRun() async throws {
        let observer = StatusRecorder()
        let jobOperator = JobOperator(
            registry: try JobRegistry([StopRestartTests.loopingJob()]), repository: InMemoryJobRepository(),
            observer: observer, logger: quietLogger)
        let id = try await jobOperator.startAsync("loop")
        #expect(try await eventually { try await jobOperator.execution(id).steps.count == 2 })
        try await jobOperator.stop(.executionId(id))
        _ = try await jobOperator.wait(for: id)
        try await jobOperator.abandon(executionId: id)
        #expect(observer.seen.all == [.starting, .started, .stopping, .stopped, .abandoned])
    }
}
