import Batch
import BatchTestKit
import Synchronization
import Testing

/// Finishing job execution updates that fail while an outage lasts, as a database that went away.
final class Outage: Sendable {
    let failedWrites = Mutex(0)
    private let remaining: Mutex<Int>

    struct Unreachable: Error {}

    /// An outage that fails the next `count` finishing updates (or all of them with `.max`).
    init(failing count: Int) { remaining = Mutex(count) }

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
}
