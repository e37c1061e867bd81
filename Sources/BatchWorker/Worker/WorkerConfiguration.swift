import Batch
import Foundation

/// How a ``Worker`` runs: its id, how many jobs at once, its lease, heartbeat and shutdown grace.
public struct WorkerConfiguration: Sendable {
    /// The worker's id, recorded on the executions it runs and in its heartbeat row. Unique per process.
    public var workerId: String
    /// A random value of this process's own, recorded with its worker row: another process given the same id is
    /// told apart by it, even on the same host with the same process id.
    public var token = UUID().uuidString
    /// The most jobs run at once; the worker holds no more start commands than it can run.
    public var concurrency: Int
    /// How long a worker may go without a heartbeat before its executions are marked FAILED.
    public var lease: Duration
    /// How often the worker records its heartbeat and looks for lost workers.
    public var heartbeatInterval: Duration
    /// How long a graceful shutdown waits for running jobs to reach STOPPED.
    public var grace: Duration
    /// Whether to create or upgrade the schema at start-up.
    public var migrate: Bool
    /// How commands that did not succeed are retried or given up (5 attempts, backoff from 1 s by default).
    public var commandRetry: CommandRetryPolicy
    /// How many times a remote partition is sent to a worker before a lost worker ends it FAILED (default 3).
    public var partitionAttempts: Int = 3
    /// Where the worker's and its jobs' metrics and spans go (the process's metrics factory and tracer by default);
    /// the worker adds itself as the progress observer, publishing `progress.<job>` events.
    public var observability: BatchObservability

    /// Creates a configuration.
    /// - Parameters:
    ///   - workerId: defaults to `<host>-<pid>-<random>`.
    ///   - concurrency: defaults to ``defaultConcurrency``.
    ///   - lease: defaults to 10 s: a worker whose heartbeats stop for that long counts as lost, and its running
    ///     executions are marked FAILED (restartable).
    ///   - heartbeatInterval: defaults to a third of the lease, at most 3 s.
    ///   - grace: defaults to 30 s.
    ///   - migrate: defaults to true.
    ///   - commandRetry: defaults to 5 attempts with a backoff from 1 s.
    ///   - observability: defaults to the process's metrics factory and tracer.
    public init(
        workerId: String? = nil, concurrency: Int? = nil, lease: Duration = .seconds(10),
        heartbeatInterval: Duration? = nil, grace: Duration = .seconds(30), migrate: Bool = true,
        commandRetry: CommandRetryPolicy = CommandRetryPolicy(), observability: BatchObservability = .global
    ) {
        self.observability = observability
        self.workerId = workerId ?? Self.defaultWorkerId()
        self.concurrency = max(1, concurrency ?? Self.defaultConcurrency)
        self.lease = lease
        self.heartbeatInterval = heartbeatInterval ?? min(lease / 3, .seconds(3))
        self.grace = grace
        self.migrate = migrate
        self.commandRetry = commandRetry
    }

    /// The jobs a worker runs at once unless told otherwise: 32. Batch jobs spend most of their time waiting on
    /// databases and services, not computing, so a worker keeps many in flight whatever its core count; each waiting
    /// job costs a task and a few kilobytes, and a full worker takes no more commands than it can run.
    public static let defaultConcurrency = 32

    /// The batch database connections a worker of `concurrency` opens unless `BATCH_DATABASE_POOL_SIZE` says
    /// otherwise: a quarter of its concurrency, from 4 to 16 — 8 for the default 32. A job holds a connection only
    /// for a round trip at each boundary (a chunk step while its chunk commits), so a few connections serve many
    /// jobs; too few and the jobs queue for them (on 2 cores, a worker of 32 trivial jobs ran about 10 % faster on 8
    /// than on 4), too many and a fleet runs out of the server's `max_connections`.
    public static func defaultPoolSize(concurrency: Int) -> Int {
        min(16, max(4, concurrency / 4))
    }

    /// `<host>-<pid>-<4 random hex digits>`: readable in logs and unique enough to survive pid reuse.
    public static func defaultWorkerId() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "worker"
        let random = String(UInt16.random(in: .min ... .max), radix: 16)
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(random)"
    }
}
