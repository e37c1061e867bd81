import Batch
import BatchRabbitMQ
import BatchTestKit
import BatchWorker
import Logging
import ServiceLifecycle
import Testing

/// A worker on the in-memory twins, in one `ServiceGroup`, as `swiftbatch worker` runs it — no servers.
final class WorkerHarness: Sendable {
    let repository: any JobRepository
    let commands = InMemoryCommandSource()
    let control = InMemoryCommandSource()
    /// The partitions queue's twin (used when the harness takes partitions).
    let partitions = InMemoryCommandSource()
    let events: InMemoryEventSink
    let workers: InMemoryWorkerRegistry
    let worker: Worker
    let group: ServiceGroup
    private let running: Task<Result<Void, any Error>, Never>

    static let logger = Logger(label: "worker-unit", factory: { _ in SwiftLogNoOpLogHandler() })

    init(
        jobs: [Job], repository: any JobRepository = InMemoryJobRepository(), concurrency: Int = 4,
        grace: Duration = .seconds(5), commandRetry: CommandRetryPolicy = CommandRetryPolicy(),
        takesPartitions: Bool = false, observability: BatchObservability = .global
    ) throws {
        self.repository = repository
        events = InMemoryEventSink(control: [control], partitions: takesPartitions ? partitions : nil)
        workers = InMemoryWorkerRegistry(repository: repository)
        worker = Worker(
            registry: try JobRegistry(jobs), repository: repository, workers: workers, commands: commands,
            control: control, events: events,
            configuration: WorkerConfiguration(
                workerId: "unit-worker", concurrency: concurrency, heartbeatInterval: .milliseconds(50), grace: grace,
                migrate: false, commandRetry: commandRetry, observability: observability),
            logger: Self.logger, partitions: takesPartitions ? partitions : nil)
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

    /// `looping`: two remote partitions, each running until asked to stop.
    static let loopingPartitions = Job("looping") {
        PartitionStep(
            "parts", partitions: 2,
            partitioner: { grid, _ in
                Dictionary(uniqueKeysWithValues: (1...grid).map { ("p\($0)", ExecutionContext()) })
            },
            step: Step("loop") { context in
                while true {
                    try await context.throwIfStopRequested()
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
        ).remote()
    }

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

/// A passing failure, as a lost connection is.
struct ConnectionLost: TransientClassifying, CustomStringConvertible {
    var isTransient: Bool { true }
    var description: String { "connection lost" }
}
