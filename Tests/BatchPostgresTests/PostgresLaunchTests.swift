import Batch
import BatchPostgres
import BatchTestKit
import Testing

/// The launch that stores the execution STARTED and its first step's start in one transaction (see
/// `JobRepository.launch(_:)`): what it stores and reports must be what the launch and a separate step start
/// would have.
@Suite(.database) struct PostgresLaunchTests {
    /// Records each reported execution (status and version).
    struct Reported: JobExecutionObserver {
        let seen = Recorder<String>()
        func jobExecutionChanged(_ execution: JobExecution) async {
            seen.append("\(execution.status.rawValue) v\(execution.version)")
        }
    }

    @Test func observersSeeStartingThenStartedThenCompletedWithTheStoredVersions() async throws {
        try await TestDatabase.withRepository { repository in
            let observer = Reported()
            let jobOperator = JobOperator(
                registry: try JobRegistry([Job("one") { Step("only") { _ in } }]), repository: repository,
                observer: observer, logger: TestDatabase.logger)
            let completed = try await jobOperator.start("one")
            #expect(completed.status == .completed)
            #expect(observer.seen.all == ["STARTING v0", "STARTED v1", "COMPLETED v\(completed.version)"])
            let stored = try #require(try await repository.jobExecution(id: completed.id))
            #expect(stored.version == completed.version)
            let start = try #require(stored.startTime)
            let step = try #require(try await repository.stepExecutions(jobExecutionId: completed.id).first)
            #expect(step.startTime == start, "the job started when its first step did")
        }
    }

    @Test func aRestartLaunchedWithItsFirstStepSkipsItWhenAnEarlierRunCompletedIt() async throws {
        try await TestDatabase.withRepository { repository in
            let runs = Recorder<String>()
            let failOnce = FailOnce()
            let job = Job("two") {
                Step("first") { _ in runs.append("first") }
                Step("again") { _ in runs.append("again") }.allowStartIfComplete()
                Step("last") { _ in
                    runs.append("last")
                    if failOnce.shouldFail("last") { throw Boom() }
                }
            }
            let reordered = Job("two-again") {
                Step("again") { _ in runs.append("again") }.allowStartIfComplete()
                Step("last") { _ in
                    runs.append("last")
                    if failOnce.shouldFail("last-2") { throw Boom() }
                }
            }
            let jobOperator = JobOperator(
                registry: try JobRegistry([job, reordered]), repository: repository, logger: TestDatabase.logger)

            #expect(try await jobOperator.start("two").status == .failed)
            let restarted = try await jobOperator.restart("two")
            #expect(restarted.status == .completed, "\(restarted.exitMessage)")
            #expect(runs.all == ["first", "again", "last", "again", "last"])
            let steps = try await repository.stepExecutions(jobExecutionId: restarted.id)
            #expect(steps.map(\.stepName) == ["again", "last"], "the completed first step has no new execution")

            // A first step that allows a start when complete runs again in the merged launch.
            runs.removeAll()
            #expect(try await jobOperator.start("two-again").status == .failed)
            let again = try await jobOperator.restart("two-again")
            #expect(again.status == .completed, "\(again.exitMessage)")
            #expect(runs.all == ["again", "last", "again", "last"])
        }
    }

    @Test func aRefusedLaunchStoresNeitherAnExecutionNorAStep() async throws {
        try await TestDatabase.withRepository { repository in
            let release = Gate()
            let jobOperator = JobOperator(
                registry: try JobRegistry([Job("held") { Step("wait") { _ in await release.wait() } }]),
                repository: repository, logger: TestDatabase.logger)
            let running = try await jobOperator.startAsync("held")
            await #expect(throws: BatchError.self) { try await jobOperator.startAsync("held") }
            release.open()
            #expect(try await jobOperator.wait(for: running).status == .completed)
            #expect(try await repository.jobExecutions(jobName: "held", limit: 10).count == 1)
            #expect(try await repository.stepExecutions(jobExecutionId: running).count == 1)
        }
    }
}
