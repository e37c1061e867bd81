import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Logging
import ServiceLifecycle

/// The worker: consumes start, stop, restart and abandon commands from RabbitMQ, runs the jobs, persists them in
/// PostgreSQL, publishes their events, heartbeats, and fails the executions of lost workers.
///
/// Run it in a `ServiceGroup` (``SwiftBatch`` does) so SIGTERM and SIGINT shut it down gracefully: it stops
/// consuming, asks its running jobs to stop, waits up to the grace period for them to reach STOPPED (restartable),
/// and returns.
public final class Worker: Service {
    /// The worker's configuration.
    public let configuration: WorkerConfiguration
    /// The operator running this worker's jobs.
    public let jobOperator: JobOperator
    let repository: PostgresJobRepository
    let messaging: BatchMessaging
    let logger: Logger
    let capacity: WorkerCapacity
    let events: EventPublisher
    let shuttingDown = ShutdownFlag()

    /// Creates a worker.
    /// - Parameters:
    ///   - registry: the jobs it may run; commands naming other jobs are dead-lettered.
    ///   - repository: where executions live.
    ///   - messaging: the RabbitMQ protocol layer.
    ///   - configuration: concurrency, lease, grace, ...
    ///   - logger: the worker's logger; `worker.id` is added to its metadata.
    public init(
        registry: JobRegistry, repository: PostgresJobRepository, messaging: BatchMessaging,
        configuration: WorkerConfiguration = WorkerConfiguration(), logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(configuration.workerId)"
        let capacity = WorkerCapacity(limit: configuration.concurrency)
        let workerId = configuration.workerId
        let events = EventPublisher(messaging: messaging, logger: logger) { execution in
            if !execution.status.isRunning, execution.workerId == workerId { capacity.remove(execution.id) }
        }
        self.configuration = configuration
        self.repository = repository
        self.messaging = messaging
        self.logger = logger
        self.capacity = capacity
        self.events = events
        self.jobOperator = JobOperator(
            registry: registry, repository: repository, workerId: configuration.workerId, observer: events,
            logger: logger)
    }

    /// Runs until a graceful shutdown (or task cancellation), then drains.
    public func run() async throws {
        let started = ContinuousClock.now
        if configuration.migrate {
            let applied = try await repository.migrate()
            if !applied.isEmpty { logger.info("schema migrated", metadata: ["migrations": "\(applied)"]) }
        }
        try await messaging.declareTopology()
        try await repository.registerWorker(
            id: configuration.workerId, host: ProcessInfo.processInfo.hostName,
            pid: Int(ProcessInfo.processInfo.processIdentifier))
        let control = try await messaging.controlCommands(workerID: configuration.workerId)
        let commands = try await messaging.commands(prefetch: UInt16(clamping: configuration.concurrency))
        logger.info(
            "worker consuming",
            metadata: [
                "concurrency": "\(configuration.concurrency)", "queue": "\(messaging.topology.commandsQueue)",
                "startup": "\(ContinuousClock.now - started)",
            ])

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.events.run() }
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.controlLoop(control) }
            await withGracefulShutdownHandler {
                await self.commandLoop(commands)
            } onGracefulShutdown: {
                self.logger.info("shutting down: no more commands")
                self.shuttingDown.request()
                Task { try? await commands.consumer.cancel() }
                self.capacity.wakeAll()
            }
            await drain()
            try? await control.consumer.cancel()
            events.finish()
            group.cancelAll()
        }
        if jobOperator.runningExecutionIds.isEmpty {
            try? await repository.removeWorker(id: configuration.workerId)
        }
        logger.info("worker stopped")
    }

    /// Asks every running job to stop and waits up to the grace period for them to end.
    func drain() async {
        let running = jobOperator.runningExecutionIds
        guard !running.isEmpty else { return }
        logger.info("stopping running jobs", metadata: ["executions": "\(running)"])
        for id in running {
            do {
                try await jobOperator.stop(.executionId(id))
            } catch {
                jobOperator.requestLocalStop(executionId: id)
                logger.warning("could not record a stop", metadata: ["job.execution.id": "\(id)", "error": "\(error)"])
            }
        }
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.jobOperator.waitForRunningExecutions()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: self.configuration.grace)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !finished {
            logger.warning(
                "grace period over with jobs still running; their lease will expire and they will be marked FAILED",
                metadata: ["executions": "\(jobOperator.runningExecutionIds)"])
        }
    }

    /// Records the heartbeat and fails the executions of lost workers, every heartbeat interval.
    func heartbeatLoop() async {
        while !Task.isCancelled {
            do {
                if try await !repository.heartbeat(workerId: configuration.workerId) {
                    try await repository.registerWorker(
                        id: configuration.workerId, host: ProcessInfo.processInfo.hostName,
                        pid: Int(ProcessInfo.processInfo.processIdentifier))
                }
                for execution in try await repository.failExecutionsOfLostWorkers(lease: configuration.lease) {
                    await events.jobExecutionChanged(execution)
                }
                let running = Set(jobOperator.runningExecutionIds)
                for execution in try await repository.failOrphanedExecutions(
                    workerId: configuration.workerId, running: running)
                {
                    await events.jobExecutionChanged(execution)
                }
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: configuration.heartbeatInterval)
        }
    }

    /// Stops reaching every worker over the control exchange: acts on those for executions running here.
    func controlLoop(_ control: CommandStream) async {
        do {
            for try await incoming in control {
                try? incoming.delivery.ack()
                guard incoming.command.action == .stop else { continue }
                await stopLocally(incoming.command.target)
            }
        } catch {
            if !Task.isCancelled { logger.warning("control consumer ended", metadata: ["error": "\(error)"]) }
        }
    }

    private func stopLocally(_ target: Command.Target) async {
        let executionId: Int64?
        switch target {
        case .execution(let id):
            executionId = id
        case .job(let name):
            executionId = try? await jobOperator.lastExecution(of: .name(name)).id
        }
        guard let executionId, jobOperator.requestLocalStop(executionId: executionId) else { return }
        logger.info("stop received over the control exchange", metadata: ["job.execution.id": "\(executionId)"])
        _ = try? await jobOperator.stop(.executionId(executionId))
    }
}
