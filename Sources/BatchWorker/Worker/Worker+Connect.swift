import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Logging

extension Worker {
    /// Builds a worker over PostgreSQL and RabbitMQ, ready to consume: creates or upgrades the schema (unless the
    /// configuration says not to), declares the topology, syncs the schedules of the job definitions, registers the
    /// worker, and starts consuming its control queue and the commands queue (prefetch: its concurrency). The
    /// worker runs the scheduler over the `schedules` table.
    ///
    /// - Parameters:
    ///   - registry: the jobs it may run; commands naming other jobs are dead-lettered.
    ///   - repository: where executions live and workers heartbeat.
    ///   - messaging: the RabbitMQ protocol layer: commands, control, events, dead letters, retries.
    ///   - configuration: concurrency, lease, grace, ...
    ///   - logger: the worker's logger.
    public static func connect(
        registry: JobRegistry, repository: PostgresJobRepository, messaging: BatchMessaging,
        configuration: WorkerConfiguration = WorkerConfiguration(), logger: Logger
    ) async throws -> Worker {
        if configuration.migrate {
            let applied = try await repository.migrate()
            if !applied.isEmpty { logger.info("schema migrated", metadata: ["migrations": "\(applied)"]) }
        }
        try await messaging.declareTopology()
        let schedules = PostgresScheduleStore(repository: repository)
        try await SchedulerService.syncCodeSchedules(registry, into: schedules, logger: logger)
        try await repository.registerWhenFree(
            workerId: configuration.workerId, token: configuration.token, host: ProcessInfo.processInfo.hostName,
            pid: Int(ProcessInfo.processInfo.processIdentifier), capacity: configuration.concurrency,
            lease: configuration.lease, logger: logger)
        let control = try await AMQPCommandSource.control(messaging, workerId: configuration.workerId)
        let stepEvents = try await messaging.events(matching: "step.#")
        let partitions = try await AMQPCommandSource.partitions(messaging, prefetch: configuration.concurrency)
        let commands = try await AMQPCommandSource.commands(messaging, prefetch: configuration.concurrency)
        return Worker(
            registry: registry, repository: repository, workers: repository, commands: commands, control: control,
            events: messaging, configuration: configuration, logger: logger,
            commandsName: messaging.topology.commandsQueue, schedules: schedules, scheduledStarts: messaging,
            partitions: partitions, stepEvents: stepEvents)
    }
}
