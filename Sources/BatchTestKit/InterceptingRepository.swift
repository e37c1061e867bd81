import Batch
import Synchronization

/// An in-memory repository that runs a hook before each job execution is created, before each is updated, before
/// each step execution is updated and before each chunk commits (to hold or fail it, as a slow or lost database would), and counts the creations.
/// Everything else goes straight to ``base``.
public final class InterceptingRepository: JobRepository {
    /// The repository that stores everything.
    public let base = InMemoryJobRepository()
    private let beforeCreate: @Sendable () async throws -> Void
    private let beforeUpdate: @Sendable (JobExecution) async throws -> Void
    private let beforeChunkCommit: @Sendable (StepExecution) async throws -> Void
    private let beforeStepUpdate: @Sendable (StepExecution) async throws -> Void
    private let calls = Mutex(0)

    /// Creates the repository.
    /// - Parameters:
    ///   - beforeCreate: runs before each new job execution is created; what it throws is the creation's failure.
    ///   - beforeUpdate: runs with each job execution before it is updated; what it throws is the update's failure.
    ///   - beforeStepUpdate: runs with each step execution before ``updateStepExecution(_:)`` stores it; what it
    ///     throws is the update's failure.
    ///   - beforeChunkCommit: runs with the step execution a chunk commits, before it is stored; what it throws is
    ///     the commit's failure (the chunk then rolls back).
    public init(
        beforeCreate: @escaping @Sendable () async throws -> Void = {},
        beforeUpdate: @escaping @Sendable (JobExecution) async throws -> Void = { _ in },
        beforeChunkCommit: @escaping @Sendable (StepExecution) async throws -> Void = { _ in },
        beforeStepUpdate: @escaping @Sendable (StepExecution) async throws -> Void = { _ in }
    ) {
        self.beforeStepUpdate = beforeStepUpdate
        self.beforeCreate = beforeCreate
        self.beforeUpdate = beforeUpdate
        self.beforeChunkCommit = beforeChunkCommit
    }

    /// How many times a job execution was asked to be created (failed ones included).
    public var createCalls: Int { calls.withLock { $0 } }

    /// Runs `beforeCreate`, then creates the execution in ``base``.
    public func createJobExecution(
        jobName: String, jobKey: String, parameters: JobParameters, workerId: String?, newInstanceOnly: Bool
    ) async throws -> JobExecution {
        calls.withLock { $0 += 1 }
        try await beforeCreate()
        return try await base.createJobExecution(
            jobName: jobName, jobKey: jobKey, parameters: parameters, workerId: workerId,
            newInstanceOnly: newInstanceOnly)
    }
    /// Runs `beforeUpdate`, then updates the execution in ``base``.
    public func updateJobExecution(_ execution: JobExecution) async throws -> JobExecution {
        try await beforeUpdate(execution)
        return try await base.updateJobExecution(execution)
    }
    /// As ``base`` answers, after ``beforeUpdate``.
    public func abandonJobExecution(_ execution: JobExecution) async throws -> JobExecution {
        try await beforeUpdate(execution)
        return try await base.abandonJobExecution(execution)
    }
    /// As ``base`` answers.
    public func jobExecution(id: Int64) async throws -> JobExecution? { try await base.jobExecution(id: id) }
    /// As ``base`` answers.
    public func jobExecutionStatus(id: Int64) async throws -> ExecutionStatusSnapshot? {
        try await base.jobExecutionStatus(id: id)
    }
    /// As ``base`` answers.
    public func jobInstance(id: Int64) async throws -> JobInstance? { try await base.jobInstance(id: id) }
    /// As ``base`` answers.
    public func lastJobInstance(jobName: String) async throws -> JobInstance? {
        try await base.lastJobInstance(jobName: jobName)
    }
    /// As ``base`` answers.
    public func lastJobExecution(instanceId: Int64) async throws -> JobExecution? {
        try await base.lastJobExecution(instanceId: instanceId)
    }
    /// As ``base`` answers.
    public func jobExecutions(jobName: String?, limit: Int) async throws -> [JobExecution] {
        try await base.jobExecutions(jobName: jobName, limit: limit)
    }
    /// As ``base`` answers.
    public func createStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await base.createStepExecution(stepExecution)
    }
    /// Runs `beforeStepUpdate`, then updates the step execution in ``base``.
    public func updateStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await beforeStepUpdate(stepExecution)
        return try await base.updateStepExecution(stepExecution)
    }
    /// As ``base`` answers.
    public func stepExecutions(jobExecutionId: Int64) async throws -> [StepExecution] {
        try await base.stepExecutions(jobExecutionId: jobExecutionId)
    }
    /// As ``base`` answers.
    public func lastStepExecution(instanceId: Int64, stepName: String) async throws -> StepExecution? {
        try await base.lastStepExecution(instanceId: instanceId, stepName: stepName)
    }
    /// A chunk transaction of ``base`` whose commit runs `beforeChunkCommit` first.
    public func beginChunk() async throws -> any ChunkTransaction {
        InterceptedChunk(base: try await base.beginChunk(), beforeCommit: beforeChunkCommit)
    }

    /// Forwards to the base repository.
    public func stepExecution(id: Int64) async throws -> StepExecution? { try await base.stepExecution(id: id) }

    /// Forwards to the base repository.
    public func createStepExecutions(_ stepExecutions: [StepExecution]) async throws -> [StepExecution] {
        try await base.createStepExecutions(stepExecutions)
    }

    /// Forwards to the base repository.
    public func claimPartition(stepExecutionId: Int64, workerId: String) async throws -> PartitionClaim {
        try await base.claimPartition(stepExecutionId: stepExecutionId, workerId: workerId)
    }
    /// As ``base`` answers.
    public func handBackPartition(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await base.handBackPartition(stepExecution)
    }

    /// Forwards to the base repository.
    public func reclaimLostPartitions(
        jobExecutionId: Int64, lease: Duration, maxAttempts: Int
    ) async throws -> PartitionReclaim {
        try await base.reclaimLostPartitions(jobExecutionId: jobExecutionId, lease: lease, maxAttempts: maxAttempts)
    }
}

/// A chunk transaction whose commit runs a hook first.
private final class InterceptedChunk: ChunkTransaction {
    let base: any ChunkTransaction
    let beforeCommit: @Sendable (StepExecution) async throws -> Void

    init(base: any ChunkTransaction, beforeCommit: @escaping @Sendable (StepExecution) async throws -> Void) {
        self.base = base
        self.beforeCommit = beforeCommit
    }

    func commit(_ stepExecution: StepExecution) async throws -> StepExecution {
        do {
            try await beforeCommit(stepExecution)
        } catch {
            await base.rollback()
            throw error
        }
        return try await base.commit(stepExecution)
    }

    func rollback() async { await base.rollback() }
    func savepoint() async throws { try await base.savepoint() }
    func rollbackToSavepoint() async throws { try await base.rollbackToSavepoint() }
    func releaseSavepoint() async throws { try await base.releaseSavepoint() }
    var jobStatusAtCommit: ExecutionStatusSnapshot? { base.jobStatusAtCommit }
    func completeWrites() async throws { try await base.completeWrites() }
}
