import Batch
import BatchTestKit
import Synchronization
import Testing

/// Finishing job execution updates that fail while an outage lasts, as a database that went away.
final class Outage: Sendable {
    let failedWrites = Mutex(0)
    private let remaining: Mutex<Int>

    struct Unreachable: Error {}
    /// What a store answers to a value it can never hold: permanent.
    struct Refused: Error, TransientClassifying {
        var isTransient: Bool { false }
    }
    private let permanent: Bool

    /// An outage that fails the next `count` finishing updates (or all of them with `.max`); with `permanent`, a
    /// refusal instead.
    init(failing count: Int, permanent: Bool = false) {
        remaining = Mutex(count)
        self.permanent = permanent
    }

    /// An in-memory repository whose finishing updates go through this outage.
    func repository() -> InterceptingRepository {
        InterceptingRepository(beforeUpdate: { execution in
            if execution.status.isFinished { try self.maybeFail() }
        })
    }

    private func maybeFail() throws {
        let fail = remaining.withLock { remaining -> Bool in
            guard remaining > 0 else { return false }
            remaining -= 1
            return true
        }
        if fail {
            failedWrites.withLock { $0 += 1 }
            if permanent { throw Refused() }
            throw Unreachable()
        }
    }
}

@Suite("Storage failures")
struct StorageFailureTests {
    @Test("an outcome that cannot be stored for a while is retried until it is: the record tells the truth")
    func outcomeRetried() async throws {
        let outage = Outage(failing: 3)
        let repository = outage.repository()
        let jobOperator = JobOperator(
            registry: try JobRegistry([Job("j") { Step("s") { _ in } }]), repository: repository,
            outcomeRetryDeadline: .seconds(30), logger: quietLogger)
        let execution = try await jobOperator.start("j")
        #expect(execution.status == .completed)
        #expect(try await repository.jobExecution(id: execution.id)?.status == .completed)
        #expect(outage.failedWrites.withLock { $0 } == 3)
    }

    @Test("an outcome that can never be stored ends in an attempt to record UNKNOWN")
    func outcomeLost() async throws {
        let repository = Outage(failing: .max).repository()
        let jobOperator = JobOperator(
            registry: try JobRegistry([Job("j") { Step("s") { _ in } }]), repository: repository,
            outcomeRetryDeadline: .milliseconds(300), logger: quietLogger)
        let execution = try await jobOperator.start("j")
        #expect(execution.status == .unknown)
        #expect(execution.exitMessage.contains("could not be recorded"))
        #expect(try await repository.jobExecution(id: execution.id)?.status == .started, "the store never heard")
    }

    @Test("an outcome the store refuses for good is not retried until the deadline: UNKNOWN is tried at once")
    func refusedOutcomeIsNotRetried() async throws {
        let outage = Outage(failing: .max, permanent: true)
        let jobOperator = JobOperator(
            registry: try JobRegistry([Job("j") { Step("s") { _ in } }]), repository: outage.repository(),
            outcomeRetryDeadline: .seconds(60), logger: quietLogger)
        let start = ContinuousClock.now
        let execution = try await jobOperator.start("j")
        #expect(execution.status == .unknown)
        #expect(ContinuousClock.now - start < .seconds(30), "not retried until the 60 s deadline")
        #expect(
            outage.failedWrites.withLock { $0 } == 3,
            "once each: the last step's end (which carries the job's), the job's outcome, UNKNOWN")
    }
}
