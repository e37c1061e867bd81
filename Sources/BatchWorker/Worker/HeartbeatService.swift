import Batch
import Foundation
import Logging
import ServiceLifecycle

/// The heartbeat and lease service, shared by `swiftbatch worker` and `swiftbatch run`: every interval it records
/// the process's heartbeat (registering again if its row was removed), fails the executions of workers past their
/// lease, and fails its own executions and remote partitions it is not running (orphans). On graceful shutdown it
/// deregisters — only if nothing of its own still runs, so that what it leaves behind is swept once the lease
/// expires.
///
/// What it asks the registry runs in a task of its own: a database that stopped answering cannot hold the service
/// past a shutdown or a cancellation.
public final class HeartbeatService: Service {
    private let registry: any WorkerRegistry
    private let workerId: String
    private let token: String
    private let interval: Duration
    private let lease: Duration
    private let capacity: Int?
    private let running: @Sendable () -> Set<Int64>
    private let runningPartitions: (@Sendable () -> Set<Int64>)?
    private let partitionsEnded: @Sendable ([StepExecution]) async -> Void
    private let observer: (any JobExecutionObserver)?
    private let logger: Logger

    /// Creates the service.
    /// - Parameters:
    ///   - registry: the workers' record.
    ///   - workerId: this process's id.
    ///   - token: the token it registered with (``WorkerConfiguration/token``).
    ///   - interval: between heartbeats.
    ///   - lease: how long a worker may go without a heartbeat before its executions are failed.
    ///   - capacity: what the process registers as its capacity (its `--concurrency`), if it has one.
    ///   - running: the executions this process runs now.
    ///   - runningPartitions: the remote partitions (step execution ids) this process runs now, for a process that
    ///     takes them; its partitions recorded as running that are not among them are failed.
    ///   - partitionsEnded: told of the partitions that sweep ended (the worker publishes their step events).
    ///   - observer: told of every execution the sweeps fail (the worker publishes them as events).
    ///   - logger: for failed heartbeats.
    public init(
        registry: any WorkerRegistry, workerId: String, token: String, interval: Duration, lease: Duration,
        capacity: Int? = nil,
        running: @escaping @Sendable () -> Set<Int64>, runningPartitions: (@Sendable () -> Set<Int64>)? = nil,
        partitionsEnded: @escaping @Sendable ([StepExecution]) async -> Void = { _ in },
        observer: (any JobExecutionObserver)? = nil, logger: Logger
    ) {
        self.partitionsEnded = partitionsEnded
        self.registry = registry
        self.workerId = workerId
        self.token = token
        self.interval = interval
        self.lease = lease
        self.capacity = capacity
        self.running = running
        self.runningPartitions = runningPartitions
        self.observer = observer
        self.logger = logger
    }

    /// Beats until a graceful shutdown or cancellation; deregisters on a graceful shutdown with nothing running.
    public func run() async {
        await Deadline.runUntilGracefulShutdown {
            while !Task.isCancelled {
                await self.beat()
                try? await Task.sleep(for: self.interval)
            }
        }
        guard !Task.isCancelled, running().isEmpty else { return }
        _ = await Deadline.run(until: .now + .seconds(1)) {
            do {
                try await self.registry.deregister(workerId: self.workerId)
            } catch {
                self.logger.warning("could not deregister", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One heartbeat and the sweeps.
    func beat() async {
        do {
            if try await !registry.heartbeat(workerId: workerId, token: token) {
                // Refused (workerIdInUse) when another live process took the id after this one missed its lease:
                // logged at every beat, for this worker's executions will be failed as the other's orphans.
                try await registry.register(
                    workerId: workerId, token: token, host: ProcessInfo.processInfo.hostName,
                    pid: Int(ProcessInfo.processInfo.processIdentifier), capacity: capacity, lease: lease)
            }
            for execution in try await registry.sweepLostWorkers(lease: lease) {
                await observer?.jobExecutionChanged(execution)
            }
            for execution in try await registry.sweepOrphanedExecutions(workerId: workerId, running: running()) {
                await observer?.jobExecutionChanged(execution)
            }
            if let runningPartitions {
                let ended = try await registry.sweepOrphanedPartitions(workerId: workerId, running: runningPartitions())
                if !ended.isEmpty { await partitionsEnded(ended) }
            }
        } catch {
            // A beat left running past the service's end (a shutdown) meets the closed pool: that is no news.
            logger.log(
                level: Task.isCancelled ? .debug : .warning, "heartbeat failed", metadata: ["error": "\(error)"])
        }
    }
}
