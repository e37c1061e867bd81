import Batch
import BatchTestKit
import Synchronization
import Testing

/// An in-memory repository whose job execution updates fail while `outage` is on, as a database that went away.
final class FlakyRepository: JobRepository {
    let inner = InMemoryJobRepository()
    let failedWrites = Mutex(0)
    private let outage = Mutex<(on: Bool, remaining: Int)>((false, 0))

    struct Unreachable: Error {}

    /// Fails the next `count` job execution updates (or all of them with `.max`).
    func failNext(_ count: Int) { outage.withLock { $0 = (true, count) } }

    private func maybeFail() throws {
        let fail = outage.withLock { state -> Bool in
            guard state.on, state.remaining > 0 else { return false }
            state.remaining -= 1
            return true
        }
        if fail {
            failedWrites.withLock { $0 += 1 }
            throw Unreachable()
        }
    }

    func createJobExecution(
        jobName: String, jobKey: String, parameters: JobParameters, workerId: String?
    )
        async throws -> JobExecution
    { try await inner.createJobExecution(jobName: jobName, jobKey: jobKey, parameters: parameters, workerId: workerId) }
    func updateJobExecution(_ execution: JobExecution) async throws -> JobExecution {
        if execution.status.isFinished { try maybeFail() }
        return try await inner.updateJobExecution(execution)
    }
    func jobExecution(id: Int64) async throws -> JobExecution? { try await inner.jobExecution(id: id) }
    func jobExecutionStatus(id: Int64) async throws -> ExecutionStatusSnapshot? {
        try await inner.jobExecutionStatus(id: id)
    }
    func jobInstance(id: Int64) async throws -> JobInstance? { try await inner.jobInstance(id: id) }
    func lastJobInstance(jobName: String) async throws -> JobInstance? {
        try await inner.lastJobInstance(jobName: jobName)
    }
    func lastJobExecution(instanceId: Int64) async throws -> JobExecution? {
        try await inner.lastJobExecution(instanceId: instanceId)
    }
    func jobExecutions(jobName: String?, limit: Int) async throws -> [JobExecution] {
        try await inner.jobExecutions(jobName: jobName, limit: limit)
    }
    func createStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await inner.createStepExecution(stepExecution)
    }
    func updateStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await inner.updateStepExecution(stepExecution)
    }
    func stepExecutions(jobExecutionId: Int64) async throws -> [StepExecution] {
        try await inner.stepExecutions(jobExecutionId: jobExecutionId)
    }
    func lastStepExecution(instanceId: Int64, stepName: String) async throws -> StepExecution? {
        try await inner.lastStepExecution(instanceId: instanceId, stepName: stepName)
    }
    func beginChunk() async throws -> any ChunkTransaction { try await inner.beginChunk() }
}

@Suite("Storage failures")
struct StorageFailureTests {
    @Test("an outcome that cannot be stored for a while is retried until it is: the record tells the truth")
    func outcomeRetried() async throws {
        let repository = FlakyRepository()
        repository.failNext(3)
        let jobOperator = JobOperator(
            registry: try JobRegistry([Job("j") { Step("s") { _ in } }]), repository: repository,
            outcomeRetryDeadline: .seconds(30), logger: quietLogger)
        let execution = try await jobOperator.start("j")
        #expect(execution.status == .completed)
        #expect(try await repository.jobExecution(id: execution.id)?.status == .completed)
        #expect(repository.failedWrites.withLock { $0 } == 3)
    }

    @Test("an outcome that can never be stored ends in an attempt to record UNKNOWN")
    func outcomeLost() async throws {
        let repository = FlakyRepository()
        repository.failNext(.max)
        let jobOperator = JobOperator(
            registry: try JobRegistry([Job("j") { Step("s") { _ in } }]), repository: repository,
            outcomeRetryDeadline: .milliseconds(300), logger: quietLogger)
        let execution = try await jobOperator.start("j")
        #expect(execution.status == .unknown)
        #expect(execution.exitMessage.contains("could not be recorded"))
        #expect(try await repository.jobExecution(id: execution.id)?.status == .started, "the store never heard")
    }
}
