import Foundation
import Synchronization

/// A job repository held in memory: fast tests and `run` without a database.
///
/// Thread-safe, and with exactly the guarantees of ``JobRepository`` (optimistic versions, one running execution
/// per instance). Nothing survives the process. Writes made by an in-memory writer inside a chunk cannot be rolled
/// back by it; the step execution and its context are stored only when the chunk commits.
public final class InMemoryJobRepository: JobRepository {
    struct State {
        var instances: [Int64: JobInstance] = [:]
        var instanceByKey: [String: Int64] = [:]
        var lastInstanceOfJob: [String: Int64] = [:]
        var executions: [Int64: JobExecution] = [:]
        var executionsOfInstance: [Int64: [Int64]] = [:]
        var steps: [Int64: StepExecution] = [:]
        var stepsOfExecution: [Int64: [Int64]] = [:]
        var lastStepOfInstance: [String: Int64] = [:]
        var nextId: Int64 = 1
        /// The last heartbeat of each worker (remote partitions' lease sweep).
        var heartbeats: [String: ContinuousClock.Instant] = [:]

        mutating func makeId() -> Int64 {
            defer { nextId += 1 }
            return nextId
        }
    }

    let state = Mutex(State())

    /// Creates an empty repository.
    public init() {}

    private static func instanceLookupKey(_ jobName: String, _ jobKey: String) -> String { "\(jobName)\u{0}\(jobKey)" }
    static func stepLookupKey(_ instanceId: Int64, _ stepName: String) -> String {
        "\(instanceId)\u{0}\(stepName)"
    }

    /// See ``JobRepository/createJobExecution(jobName:jobKey:parameters:workerId:newInstanceOnly:)``.
    public func createJobExecution(
        jobName: String, jobKey: String, parameters: JobParameters, workerId: String?, newInstanceOnly: Bool
    ) async throws -> JobExecution {
        let now = Date()
        return try state.withLock { state in
            let lookup = Self.instanceLookupKey(jobName, jobKey)
            let instanceId: Int64
            if let existing = state.instanceByKey[lookup] {
                instanceId = existing
            } else {
                instanceId = state.makeId()
                state.instances[instanceId] = JobInstance(
                    id: instanceId, jobName: jobName, jobKey: jobKey, parameters: parameters, createTime: now)
                state.instanceByKey[lookup] = instanceId
                state.lastInstanceOfJob[jobName] = instanceId
            }
            let last = state.executionsOfInstance[instanceId]?.last.flatMap { state.executions[$0] }
            if let last {
                let partitionsRunning = (state.stepsOfExecution[last.id] ?? []).contains { id in
                    guard let step = state.steps[id] else { return false }
                    return step.workerId != nil && (step.status == .started || step.status == .stopping)
                }
                try StartRules.check(
                    lastStatus: last.status, executionId: last.id, jobName: jobName, newInstanceOnly: newInstanceOnly,
                    partitionsRunning: partitionsRunning)
            }
            let execution = JobExecution(
                id: state.makeId(), instanceId: instanceId, jobName: jobName, parameters: parameters,
                createTime: now, lastUpdated: now, workerId: workerId, context: last?.context ?? ExecutionContext())
            state.executions[execution.id] = execution
            state.executionsOfInstance[instanceId, default: []].append(execution.id)
            return execution
        }
    }

    /// See ``JobRepository/updateJobExecution(_:)``.
    public func updateJobExecution(_ execution: JobExecution) async throws -> JobExecution {
        try update(execution, onlyIfLast: false)
    }

    /// See ``JobRepository/abandonJobExecution(_:)``: checked and stored under the lock launches take.
    public func abandonJobExecution(_ execution: JobExecution) async throws -> JobExecution {
        try update(execution, onlyIfLast: true)
    }

    private func update(_ execution: JobExecution, onlyIfLast: Bool) throws -> JobExecution {
        let now = Date()
        return try state.withLock { state in
            if onlyIfLast, let last = state.executionsOfInstance[execution.instanceId]?.last, last != execution.id {
                throw BatchError.notTheLastExecution(execution.id, last: last)
            }
            guard let stored = state.executions[execution.id] else {
                throw BatchError(.executionNotFound, "no job execution \(execution.id)")
            }
            guard stored.version == execution.version else {
                throw BatchError.staleVersion("job execution", execution.id, execution.version, stored.version)
            }
            var updated = execution
            updated.version += 1
            updated.lastUpdated = now
            // What the launch stored stays (JobRepository.updateJobExecution(_:) changes the rest).
            updated.instanceId = stored.instanceId
            updated.jobName = stored.jobName
            updated.parameters = stored.parameters
            updated.createTime = stored.createTime
            state.executions[execution.id] = updated
            return updated
        }
    }

    /// See ``JobRepository/jobExecution(id:)``.
    public func jobExecution(id: Int64) async throws -> JobExecution? {
        state.withLock { $0.executions[id] }
    }

    /// See ``JobRepository/jobExecutionStatus(id:)``.
    public func jobExecutionStatus(id: Int64) async throws -> ExecutionStatusSnapshot? {
        state.withLock { state in
            state.executions[id].map { ExecutionStatusSnapshot(status: $0.status, version: $0.version) }
        }
    }

    /// See ``JobRepository/jobInstance(id:)``.
    public func jobInstance(id: Int64) async throws -> JobInstance? {
        state.withLock { $0.instances[id] }
    }

    /// See ``JobRepository/lastJobInstance(jobName:)``.
    public func lastJobInstance(jobName: String) async throws -> JobInstance? {
        state.withLock { state in state.lastInstanceOfJob[jobName].flatMap { state.instances[$0] } }
    }

    /// See ``JobRepository/lastJobExecution(instanceId:)``.
    public func lastJobExecution(instanceId: Int64) async throws -> JobExecution? {
        state.withLock { state in state.executionsOfInstance[instanceId]?.last.flatMap { state.executions[$0] } }
    }

    /// See ``JobRepository/jobExecutions(jobName:limit:)``.
    public func jobExecutions(jobName: String?, limit: Int) async throws -> [JobExecution] {
        state.withLock { state in
            state.executions.values
                .filter { jobName == nil || $0.jobName == jobName }
                .sorted { $0.id > $1.id }
                .prefix(max(0, limit))
                .map { $0 }
        }
    }

    /// See ``JobRepository/createStepExecution(_:)``.
    public func createStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await createStepExecutions([stepExecution])[0]
    }

    /// See ``JobRepository/updateStepExecution(_:)``.
    public func updateStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        let now = Date()
        return try state.withLock { state in try Self.store(stepExecution, at: now, in: &state) }
    }

    static func store(
        _ stepExecution: StepExecution, at now: Date, in state: inout State
    ) throws
        -> StepExecution
    {
        guard let stored = state.steps[stepExecution.id] else {
            throw BatchError(.executionNotFound, "no step execution \(stepExecution.id)")
        }
        guard stored.version == stepExecution.version else {
            throw BatchError.staleVersion("step execution", stepExecution.id, stepExecution.version, stored.version)
        }
        var updated = stepExecution
        updated.version += 1
        updated.lastUpdated = now
        updated.jobExecutionId = stored.jobExecutionId
        updated.stepName = stored.stepName
        state.steps[updated.id] = updated
        return updated
    }

    /// See ``JobRepository/stepExecutions(jobExecutionId:)``.
    public func stepExecutions(jobExecutionId: Int64) async throws -> [StepExecution] {
        state.withLock { state in (state.stepsOfExecution[jobExecutionId] ?? []).compactMap { state.steps[$0] } }
    }

    /// See ``JobRepository/lastStepExecution(instanceId:stepName:)``.
    public func lastStepExecution(instanceId: Int64, stepName: String) async throws -> StepExecution? {
        state.withLock { state in
            state.lastStepOfInstance[Self.stepLookupKey(instanceId, stepName)].flatMap { state.steps[$0] }
        }
    }

    /// See ``JobRepository/beginChunk()``.
    public func beginChunk() async throws -> any ChunkTransaction {
        Transaction(repository: self)
    }

    private final class Transaction: ChunkTransaction {
        let repository: InMemoryJobRepository
        init(repository: InMemoryJobRepository) { self.repository = repository }

        func commit(_ stepExecution: StepExecution) async throws -> StepExecution {
            try await repository.updateStepExecution(stepExecution)
        }

        func rollback() async {}
    }
}

extension BatchError {
    /// The optimistic-lock failure every repository reports the same way.
    public static func staleVersion(_ what: String, _ id: Int64, _ expected: Int, _ found: Int) -> BatchError {
        BatchError(
            .optimisticLock,
            "\(what) \(id) was changed by someone else (expected version \(expected), found \(found)); "
                + "read it again and retry")
    }
}
