import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The worker: takes start, stop, restart and abandon commands from a ``CommandSource``, runs the jobs, persists
/// them in a `JobRepository`, publishes their events to an ``EventSink``, heartbeats in a ``WorkerRegistry``, and
/// fails the executions of lost workers.
///
/// Its long-lived loops are services of one `ServiceGroup`, in this order: the ``HeartbeatService``, the event
/// publisher, the ``SchedulerService``, the control listener and the command consumer (``services``). A graceful shutdown (SIGTERM, SIGINT)
/// stops them in reverse: the consumer stops taking commands, asks the running jobs to stop and waits up to the
/// grace period for them to reach STOPPED (restartable) while the others still hear stops, publish events and
/// heartbeat; then the control listener ends, the events still queued are published, and the worker deregisters.
/// If the grace period ends first, the running executions are marked FAILED and the group fails.
///
/// In production, ``connect(registry:repository:messaging:configuration:logger:)`` builds one over PostgreSQL and
/// RabbitMQ; in tests, the in-memory twins (``InMemoryCommandSource``, ``InMemoryEventSink``,
/// ``InMemoryWorkerRegistry``) and `InMemoryJobRepository` run it without servers.
public final class Worker: Service {
    /// The worker's configuration.
    public let configuration: WorkerConfiguration
    /// The operator running this worker's jobs.
    public let jobOperator: JobOperator
    let workers: any WorkerRegistry
    let commands: any CommandSource
    let control: (any CommandSource)?
    let sink: any EventSink
    let logger: Logger
    let capacity: WorkerCapacity
    /// The worker's own metrics (commands, capacity).
    let metrics: WorkerMetrics
    let events: EventPublisher
    let shuttingDown = ShutdownFlag()
    let created = ContinuousClock.now
    /// Where the commands come from, for the log.
    let commandsName: String
    /// The schedules and where their starts go, when the worker runs the scheduler.
    let scheduling: (store: any ScheduleStore, sender: any CommandSender)?
    let registry: JobRegistry
    /// The remote partitions to take (the partitions queue), if this worker takes any.
    let partitions: (any CommandSource)?
    /// The step events that wake waiting managers, if any.
    let stepEvents: EventStream?
    /// Where this worker's remote partition steps send their partitions: set when it takes partitions.
    let partitionDispatcher: WorkerPartitionDispatcher?
    /// Set when the partition consumer shuts down.
    let partitionsShuttingDown = ShutdownFlag()
    /// The remote partitions running here, by step execution id.
    let partitionTasks = Mutex<[Int64: Task<Void, Never>]>([:])
    /// The services, made once.
    private let made = Mutex<[ServiceGroupConfiguration.ServiceConfiguration]?>(nil)

    /// Creates a worker.
    /// - Parameters:
    ///   - registry: the jobs it may run; commands naming other jobs are dead-lettered.
    ///   - repository: where executions live.
    ///   - workers: where the worker registers and heartbeats.
    ///   - commands: the commands to take (the commands queue).
    ///   - control: stops that reach every worker (the control exchange), if any.
    ///   - events: where execution events and stop broadcasts go.
    ///   - configuration: concurrency, lease, grace, ...
    ///   - logger: the worker's logger; `worker.id` is added to its metadata.
    ///   - commandsName: where the commands come from, for the log.
    ///   - schedules: the schedules, for the ``SchedulerService``; none: the worker runs no scheduler.
    ///   - scheduledStarts: where the scheduler sends the starts it fires (the commands queue).
    ///   - partitions: the remote partitions to take (the partitions queue), within the same capacity as the
    ///     commands; none: this worker neither takes partitions nor sends any (its remote steps run locally).
    ///   - stepEvents: the step events (`step.#`) that wake its waiting managers; without them they poll.
    public init(
        registry: JobRegistry, repository: any JobRepository, workers: any WorkerRegistry,
        commands: any CommandSource, control: (any CommandSource)? = nil, events: any EventSink,
        configuration: WorkerConfiguration = WorkerConfiguration(), logger: Logger, commandsName: String = "commands",
        schedules: (any ScheduleStore)? = nil, scheduledStarts: (any CommandSender)? = nil,
        partitions: (any CommandSource)? = nil, stepEvents: EventStream? = nil
    ) {
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(configuration.workerId)"
        let metrics = WorkerMetrics(configuration.observability, concurrency: configuration.concurrency)
        let capacity = WorkerCapacity(limit: configuration.concurrency, runningGauge: metrics.runningJobs)
        let workerId = configuration.workerId
        let publisher = EventPublisher(sink: events, logger: logger) { execution in
            if !execution.status.isRunning, execution.workerId == workerId { capacity.remove(execution.id) }
        }
        self.metrics = metrics
        self.configuration = configuration
        self.workers = workers
        self.commands = commands
        self.control = control
        self.sink = events
        self.logger = logger
        self.capacity = capacity
        self.events = publisher
        self.commandsName = commandsName
        self.registry = registry
        self.scheduling = schedules.flatMap { store in scheduledStarts.map { (store, $0) } }
        self.partitions = partitions
        self.stepEvents = stepEvents
        let dispatcher = partitions.map { _ in
            WorkerPartitionDispatcher(
                sink: events, capacity: capacity, lease: configuration.lease,
                maxAttempts: configuration.partitionAttempts)
        }
        self.partitionDispatcher = dispatcher
        self.jobOperator = JobOperator(
            registry: registry, repository: repository, workerId: configuration.workerId, observer: publisher,
            logger: logger, observability: configuration.observability.reportingProgress(to: publisher),
            partitionDispatcher: dispatcher)
    }

    /// The worker's services, to run in one `ServiceGroup` in this order (a graceful shutdown stops them in
    /// reverse): the heartbeat, the event publisher, the scheduler (when the worker has schedules), the control
    /// listener, and the command consumer, whose failure
    /// (the grace period ended with jobs running) cancels the group. The same services on every call: run them
    /// once.
    public var services: [ServiceGroupConfiguration.ServiceConfiguration] {
        made.withLock { made in
            if let made { return made }
            let services = makeServices()
            made = services
            return services
        }
    }

    private func makeServices() -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let jobOperator = jobOperator
        // A partition holds its slot from its claim until its run has ended (before and after its run is registered
        // with the operator).
        let capacity = capacity
        let runningPartitions: (@Sendable () -> Set<Int64>)? =
            partitions == nil
            ? nil
            : { @Sendable in Set(capacity.runningKeys.filter { $0 < 0 }.map { Self.stepExecutionId(ofSlot: $0) }) }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: HeartbeatService(
                    registry: workers, workerId: configuration.workerId, token: configuration.token,
                    interval: configuration.heartbeatInterval,
                    lease: configuration.lease, capacity: configuration.concurrency,
                    running: { Set(jobOperator.runningExecutionIds) }, runningPartitions: runningPartitions,
                    partitionsEnded: { [weak self] in await self?.publishStepEvents(of: $0) }, observer: events,
                    logger: logger),
                successTerminationBehavior: .ignore, serviceName: "heartbeat"),
            .init(service: events, successTerminationBehavior: .ignore, serviceName: "events"),
        ]
        if let scheduling {
            services.append(
                .init(
                    service: SchedulerService(
                        store: scheduling.store, sender: scheduling.sender, registry: registry, logger: logger),
                    successTerminationBehavior: .ignore, serviceName: "scheduler"))
        }
        if let control {
            services.append(
                .init(
                    service: ControlListener(source: control, jobOperator: jobOperator, logger: logger),
                    successTerminationBehavior: .ignore, serviceName: "control"))
        }
        if let stepEvents, let partitionDispatcher {
            services.append(
                .init(
                    service: StepEventListener(events: stepEvents, dispatcher: partitionDispatcher),
                    successTerminationBehavior: .ignore, serviceName: "step-events"))
        }
        if let partitions {
            services.append(
                .init(
                    service: PartitionConsumer(worker: self, source: partitions),
                    successTerminationBehavior: .ignore, serviceName: "partitions"))
        }
        services.append(
            .init(
                service: CommandConsumer(worker: self), successTerminationBehavior: .gracefullyShutdownGroup,
                serviceName: "commands"))
        return services
    }

    /// Runs the worker's ``services`` in a `ServiceGroup` of their own until a graceful shutdown of the group this
    /// worker runs in (or of the task), then drains as described above.
    ///
    /// - Throws: when the grace period ended with executions still running (they were marked FAILED where the
    ///   database answered).
    public func run() async throws {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        try await withGracefulShutdownHandler {
            try await group.run()
        } onGracefulShutdown: {
            Task { await group.triggerGracefulShutdown() }
        }
    }

    /// Takes commands until a graceful shutdown (or the source ends), then asks the running jobs to stop and waits
    /// for them, up to the grace period.
    func consume() async throws {
        logger.info(
            "worker consuming",
            metadata: [
                "concurrency": "\(configuration.concurrency)", "queue": "\(commandsName)",
                "startup": "\(ContinuousClock.now - created)",
            ])
        // The loop runs as a task of its own: a call in flight to a server that stopped answering cannot be
        // interrupted, and shutdown must not wait for it past grace.
        let commandLoop = Task { await self.commandLoop() }
        await withGracefulShutdownHandler {
            _ = await Deadline.run(unless: shuttingDown) { await commandLoop.value }
        } onGracefulShutdown: {
            self.logger.info("shutting down: no more commands")
            self.shuttingDown.request()
            let commands = self.commands
            Task { try? await commands.cancel() }
            self.capacity.wakeAll()
        }
        shuttingDown.request()
        let deadline = ContinuousClock.now + configuration.grace
        let drained: Bool? = await Deadline.run(until: deadline) {
            await commandLoop.value
            await self.drain()
            return true
        }
        guard drained != nil else {
            commandLoop.cancel()
            let running = jobOperator.runningExecutionIds
            await giveUp(running)
            throw BatchError(
                .invalidState,
                "the grace period of \(configuration.grace) ended with executions \(running) still running; "
                    + "they were marked FAILED where the database answered, else their lease will expire")
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

    /// The grace period is over with jobs still running: marks them FAILED if the registry answers within a second
    /// (else the lost-worker sweep will, once the lease expires) and closes the command source so that whatever
    /// this worker still holds goes back to the queue.
    func giveUp(_ running: [Int64]) async {
        logger.warning(
            "grace period over with jobs still running; marking them FAILED",
            metadata: ["executions": "\(running)", "grace": "\(configuration.grace)"])
        let message = "worker \(configuration.workerId) shut down before the job stopped (grace \(configuration.grace))"
        _ = await workers.failRunningExecutions(
            workerId: configuration.workerId, message: message, within: .seconds(1), logger: logger)
        let commands = commands
        _ = await Deadline.run(until: .now + .milliseconds(500)) { try? await commands.close() }
    }
}

/// The command consumer: the worker's last service, the first a graceful shutdown reaches.
struct CommandConsumer: Service {
    let worker: Worker

    func run() async throws { try await worker.consume() }
}
