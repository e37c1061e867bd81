import Batch
import BatchRabbitMQ
import BatchTestKit
import BatchWorker
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A worker on the in-memory twins, in one `ServiceGroup`, as `swiftbatch worker` runs it — no servers.
final class WorkerHarness: Sendable {
    let repository: any JobRepository
    let commands = InMemoryCommandSource()
    let control = InMemoryCommandSource()
    let events: InMemoryEventSink
    let workers: InMemoryWorkerRegistry
    let worker: Worker
    let group: ServiceGroup
    private let running: Task<Result<Void, any Error>, Never>

    static let logger = Logger(label: "worker-unit", factory: { _ in SwiftLogNoOpLogHandler() })

    init(
        jobs: [Job], repository: any JobRepository = InMemoryJobRepository(), concurrency: Int = 4,
        grace: Duration = .seconds(5), commandRetry: CommandRetryPolicy = CommandRetryPolicy()
    ) throws {
        self.repository = repository
        events = InMemoryEventSink(control: [control])
        workers = InMemoryWorkerRegistry(repository: repository)
        worker = Worker(
            registry: try JobRegistry(jobs), repository: repository, workers: workers, commands: commands,
            control: control, events: events,
            configuration: WorkerConfiguration(
                workerId: "unit-worker", concurrency: concurrency, heartbeatInterval: .milliseconds(50), grace: grace,
                migrate: false, commandRetry: commandRetry),
            logger: Self.logger)
        group = ServiceGroup(configuration: ServiceGroupConfiguration(services: worker.services, logger: Self.logger))
        let group = group
        running = Task {
            do {
                try await group.run()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
    }

    /// Shuts the worker down gracefully (as SIGTERM does) and returns how its group ended.
    func shutDown() async -> Result<Void, any Error> {
        await group.triggerGracefulShutdown()
        return await running.value
    }

    /// Polls until `condition` holds, for at most `timeout`.
    func eventually(
        _ what: Comment, timeout: Duration = .seconds(5), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try await condition(), what)
    }

    func execution(_ id: Int64) async throws -> JobExecution? { try await repository.jobExecution(id: id) }

    /// The execution id an accepted reply names.
    static func accepted(_ delivery: InMemoryCommandSource.Delivery) throws -> Int64 {
        guard case .accepted(let id?) = delivery.replies.first else {
            throw BatchError(
                .invalidState, "not accepted: \(delivery.replies), \(String(describing: delivery.settlement))")
        }
        return id
    }
}

/// Jobs for the unit tests: each waits as the test needs.
enum UnitJobs {
    /// Completes at once.
    static let hello = Job("hello") { Step("say") { _ in } }

    /// Runs until asked to stop, checking every 5 ms; ends STOPPED.
    static let slow = Job("slow") {
        Step("loop") { context in
            while true {
                try await context.throwIfStopRequested()
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Waits for `gate`, then completes; parameters make distinct instances.
    static func held(_ gate: ShutdownFlag) -> Job {
        Job("held") { Step("wait") { _ in await gate.wait() } }
    }
}

/// A repository that runs `beforeCreate` before each new execution is created (to hold or fail it), and counts
/// the calls.
final class ScriptedRepository: JobRepository {
    let base = InMemoryJobRepository()
    let beforeCreate: @Sendable () async throws -> Void
    private let calls = Mutex(0)

    init(beforeCreate: @escaping @Sendable () async throws -> Void) { self.beforeCreate = beforeCreate }

    var createCalls: Int { calls.withLock { $0 } }

    func createJobExecution(
        jobName: String, jobKey: String, parameters: JobParameters, workerId: String?
    ) async throws -> JobExecution {
        calls.withLock { $0 += 1 }
        try await beforeCreate()
        return try await base.createJobExecution(
            jobName: jobName, jobKey: jobKey, parameters: parameters, workerId: workerId)
    }
    func updateJobExecution(_ execution: JobExecution) async throws -> JobExecution {
        try await base.updateJobExecution(execution)
    }
    func jobExecution(id: Int64) async throws -> JobExecution? { try await base.jobExecution(id: id) }
    func jobExecutionStatus(id: Int64) async throws -> ExecutionStatusSnapshot? {
        try await base.jobExecutionStatus(id: id)
    }
    func jobInstance(id: Int64) async throws -> JobInstance? { try await base.jobInstance(id: id) }
    func lastJobInstance(jobName: String) async throws -> JobInstance? {
        try await base.lastJobInstance(jobName: jobName)
    }
    func lastJobExecution(instanceId: Int64) async throws -> JobExecution? {
        try await base.lastJobExecution(instanceId: instanceId)
    }
    func jobExecutions(jobName: String?, limit: Int) async throws -> [JobExecution] {
        try await base.jobExecutions(jobName: jobName, limit: limit)
    }
    func createStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await base.createStepExecution(stepExecution)
    }
    func updateStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution {
        try await base.updateStepExecution(stepExecution)
    }
    func stepExecutions(jobExecutionId: Int64) async throws -> [StepExecution] {
        try await base.stepExecutions(jobExecutionId: jobExecutionId)
    }
    func lastStepExecution(instanceId: Int64, stepName: String) async throws -> StepExecution? {
        try await base.lastStepExecution(instanceId: instanceId, stepName: stepName)
    }
    func beginChunk() async throws -> any ChunkTransaction { try await base.beginChunk() }
}

/// A passing failure, as a lost connection is.
struct ConnectionLost: TransientClassifying, CustomStringConvertible {
    var isTransient: Bool { true }
    var description: String { "connection lost" }
}
