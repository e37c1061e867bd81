import Batch
import BatchPostgres
import BatchTestKit
import Testing

/// PostgreSQL's `text` and `jsonb` refuse U+0000. An execution whose context or exit message holds one is still
/// recorded, with U+FFFD in its place: it never stays STARTED because its outcome could not be written.
@Suite(.database) struct PostgresUnstorableTextTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String { "bad\u{0}byte" }
    }

    @Test("a NUL in the job's and the step's context is stored as U+FFFD, and the job completes")
    func aNULInTheContextsIsStoredReplaced() async throws {
        try await TestDatabase.withRepository { repository in
            let job = Job("nul-context") {
                Step("write") { context in
                    context.jobContext["header"] = .string("a\u{0}b")
                    context.stepContext["k\u{0}"] = .string("v\u{0}")
                }
            }
            let jobOperator = JobOperator(
                registry: try JobRegistry([job]), repository: repository, logger: TestDatabase.logger)
            let execution = try await jobOperator.start("nul-context")
            #expect(execution.status == .completed, "\(execution.exitMessage)")
            let stored = try #require(try await repository.jobExecution(id: execution.id))
            #expect(stored.status == .completed)
            #expect(stored.context["header"] == .string("a\u{FFFD}b"))
            let step = try #require(try await repository.stepExecutions(jobExecutionId: execution.id).first)
            #expect(step.status == .completed)
            #expect(step.context["k\u{FFFD}"] == .string("v\u{FFFD}"))
        }
    }

    @Test("an error whose description holds a NUL fails the step and the job, both recorded FAILED")
    func aNULInTheExitMessageIsStoredReplaced() async throws {
        try await TestDatabase.withRepository { repository in
            let job = Job("nul-error") { Step("fail") { _ in throw Failure() } }
            let jobOperator = JobOperator(
                registry: try JobRegistry([job]), repository: repository, logger: TestDatabase.logger)
            let execution = try await jobOperator.start("nul-error")
            #expect(execution.status == .failed)
            let stored = try #require(try await repository.jobExecution(id: execution.id))
            #expect(stored.status == .failed)
            #expect(stored.exitMessage.contains("bad\u{FFFD}byte"), "\(stored.exitMessage)")
            let step = try #require(try await repository.stepExecutions(jobExecutionId: execution.id).first)
            #expect(step.status == .failed)
            #expect(step.exitMessage.contains("bad\u{FFFD}byte"), "\(step.exitMessage)")
        }
    }
}
