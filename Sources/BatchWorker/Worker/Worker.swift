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

        // The loops that talk to the servers run as tasks of their own, not children of this one: a call in flight
        // to a server that stopped answering cannot be interrupted, and shutdown must not wait for it past grace.
        let loops = [
            Task { await self.events.run() },
            Task { await self.heartbeatLoop() },
            Task { await self.controlLoop(control) },
        ]
        let commandLoop = Task { await self.commandLoop(commands) }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await commandLoop.value }
                group.addTask { await self.shuttingDown.wait() }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.logger.info("shutting down: no more commands")
            self.shuttingDown.request()
            Task { try? await commands.consumer.cancel() }
            self.capacity.wakeAll()
        }
        shuttingDown.request()
        let deadline = ContinuousClock.now + configuration.grace
        let drained: Bool? = await Deadline.run(until: deadline) {
            await commandLoop.value
            await self.drain()
            try? await control.consumer.cancel()
            self.events.finish()
            await loops[0].value
            return true
        }
        for loop in loops { loop.cancel() }
        guard drained != nil else {
            let running = jobOperator.runningExecutionIds
            await giveUp(running, commands: commands)
            throw BatchError(
                .invalidState,
                "the grace period of \(configuration.grace) ended with executions \(running) still running; "
                    + "they were marked FAILED where the database answered, else their lease will expire")
        }
        if jobOperator.runningExecutionIds.isEmpty {
            _ = await Deadline.run(until: .now + .seconds(1)) {
                try? await self.repository.removeWorker(id: self.configuration.workerId)
            }
        }
        logger.info("worker stopped")
    }

    /// Asks every running job to stop, first in this process (the flag each chunk checks), then in the database
    /// (STOPPING, for every observer), and waits for them to end. The caller bounds the wait by the grace period.
    func drain() async {
        let running = jobOperator.runningExecutionIds
        guard !running.isEmpty else { return }
        logger.info("stopping running jobs", metadata: ["executions": "\(running)"])
        for id in running { jobOperator.requestLocalStop(executionId: id) }
        for id in running {
            do {
                try await jobOperator.stop(.executionId(id))
            } catch {
                logger.warning("could not record a stop", metadata: ["job.execution.id": "\(id)", "error": "\(error)"])
            }
        }
        await jobOperator.waitForRunningExecutions()
    }

    /// The grace period is over with jobs still running: marks them FAILED if the database answers within a second
    /// (else the lost-worker sweep will, once the lease expires) and closes the commands channel so the broker
    /// requeues whatever this worker still holds.
    func giveUp(_ running: [Int64], commands: CommandStream) async {
        logger.warning(
            "grace period over with jobs still running; marking them FAILED",
            metadata: ["executions": "\(running)", "grace": "\(configuration.grace)"])
        let message = "worker \(configuration.workerId) shut down before the job stopped (grace \(configuration.grace))"
        let marked = await Deadline.run(until: .now + .seconds(1)) {
            do {
                return try await self.repository.failRunningExecutions(
                    workerId: self.configuration.workerId, message: message)
            } catch {
                self.logger.warning("could not mark the executions FAILED", metadata: ["error": "\(error)"])
                return []
            }
        }
        if marked == nil {
            logger.warning("the database did not answer; the lease sweep will mark the executions FAILED")
        }
        _ = await Deadline.run(until: .now + .milliseconds(500)) { try? await commands.consumer.close() }
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
