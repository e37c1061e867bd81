import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The scheduler every worker runs: once a tick (at most once a second) it asks the ``ScheduleStore`` whether
/// anything is due — one cheap query when nothing is — and if so claims the due schedules, records their firings and
/// start commands in one transaction, publishes the starts with confirms and marks them sent. Starts left unsent
/// (the broker was away, a worker died between commit and publish) are re-sent by any worker after ``resendAfter``.
///
/// Each slot fires once: the firings table's key decides it, whichever worker claims the schedule. A start sent
/// twice (sent, then re-sent because its confirm came late or the mark was lost) carries the same identifying
/// `scheduledTime` and `newInstanceOnly`, so the second is refused once the instance has any execution — even a
/// FAILED one, which a plain start would run again.
///
/// What may block on a server runs under ``Deadline``: a graceful shutdown ends the service at once.
public final class SchedulerService: Service {
    /// How long this scheduler's previous tick took: slots that came due while it ran were not missed while no
    /// worker ran, even when it took long (a broker away holds each publish up to its timeout).
    private let lastTick = Mutex<Duration>(.zero)
    private let store: any ScheduleStore
    private let sender: any CommandSender
    private let planner: SchedulePlanner
    private let interval: Duration
    private let logger: Logger
    /// How long a start may wait unsent before any worker sends it again.
    public let resendAfter: Duration
    /// The most schedules claimed in one transaction (a tick repeats the claim while it comes back full).
    public let batchSize: Int
    /// The most starts published at once.
    static let publishConcurrency = 32
    /// The longest a publish may wait for the broker's confirm before the start is left for a re-send.
    static let publishTimeout = Duration.seconds(2)

    /// Creates the service.
    /// - Parameters:
    ///   - store: the schedules.
    ///   - sender: where the starts go (the commands queue).
    ///   - registry: the jobs this process knows (each start's instance key).
    ///   - interval: between ticks; at least a second.
    ///   - resendAfter: how long a start may wait unsent before it is sent again (5 s).
    ///   - batchSize: the most schedules claimed in one transaction (100).
    ///   - logger: for firings and failures.
    public init(
        store: any ScheduleStore, sender: any CommandSender, registry: JobRegistry, interval: Duration = .seconds(1),
        resendAfter: Duration = .seconds(5), batchSize: Int = 100, logger: Logger
    ) {
        self.store = store
        self.sender = sender
        self.planner = SchedulePlanner(registry: registry)
        self.interval = max(interval, .seconds(1))
        self.resendAfter = resendAfter
        self.batchSize = max(1, batchSize)
        self.logger = logger
    }

    /// Ticks until a graceful shutdown or cancellation.
    public func run() async {
        await Deadline.runUntilGracefulShutdown {
            let clock = ContinuousClock()
            while !Task.isCancelled {
                let started = clock.now
                await self.tick()
                try? await Task.sleep(until: started + self.interval, clock: clock)
            }
        }
    }

    /// What one tick did.
    public struct TickOutcome: Sendable, Hashable {
        /// Starts published and marked sent (fired now or re-sent).
        public var sent = 0
        /// Starts recorded but not published (they are re-sent later).
        public var unsent = 0
        /// Schedules claimed.
        public var claimed = 0
        /// Store calls made (1 when nothing was due).
        public var queries = 0
    }

    /// One tick: the probe, then the claims and publishes it calls for. Failures are logged; what was recorded
    /// and not sent is re-sent by a later tick of any worker.
    @discardableResult
    public func tick() async -> TickOutcome {
        let started = ContinuousClock.now
        defer { lastTick.withLock { $0 = ContinuousClock.now - started } }
        var outcome = TickOutcome()
        do {
            outcome.queries += 1
            let probe = try await store.probe(resendAfter: resendAfter)
            if probe.due {
                // A slot later than the tolerance is a misfire only if no scheduler was running when it came due:
                // widen the tolerance by what this scheduler's previous tick took (a failed tick is short, so slots
                // of a database outage still count as missed).
                var planner = planner
                planner.tolerance = max(planner.tolerance, lastTick.withLock { $0 } + interval + .seconds(1))
                while true {
                    outcome.queries += 1
                    let (entries, claimed) = try await store.fireDue(limit: batchSize) { schedule, now in
                        planner.advance(schedule, now: now)
                    }
                    outcome.claimed += claimed
                    try await publish(entries, &outcome)
                    if claimed < batchSize || Task.isCancelled { break }
                }
            }
            if probe.unsent {
                outcome.queries += 1
                let entries = try await store.claimUnsent(olderThan: resendAfter, limit: batchSize * 10)
                if !entries.isEmpty {
                    logger.info("re-sending scheduled starts left unsent", metadata: ["count": "\(entries.count)"])
                }
                try await publish(entries, &outcome)
            }
        } catch {
            logger.warning("scheduler tick failed", metadata: ["error": "\(error)"])
        }
        return outcome
    }

    /// Publishes the starts (a few at once), then marks those the broker confirmed as sent.
    private func publish(_ entries: [ScheduleOutboxEntry], _ outcome: inout TickOutcome) async throws {
        guard !entries.isEmpty else { return }
        let sender = sender
        let logger = logger
        let registry = planner.registry
        var sent: [Int64] = []
        for batch in stride(from: 0, to: entries.count, by: Self.publishConcurrency) {
            let slice = entries[batch..<min(batch + Self.publishConcurrency, entries.count)]
            sent += await withTaskGroup(of: Int64?.self) { group in
                for entry in slice {
                    group.addTask {
                        let command: Command
                        do {
                            command = try Command.scheduledStart(json: entry.command, registry: registry)
                        } catch {
                            // It can never be sent: marked sent (dropped) so that it is not re-sent forever.
                            logger.error(
                                "dropping a scheduled start that is not a valid command",
                                metadata: ["schedule": "\(entry.schedule)", "error": "\(error)"])
                            return entry.id
                        }
                        // Bounded: a broker that is away must not hold the ticks (slots would be missed); what
                        // is not confirmed in time is re-sent later (a second copy is refused: newInstanceOnly).
                        let outcome = await Deadline.run(until: .now + Self.publishTimeout) {
                            do {
                                try await sender.send(command)
                                return nil as String?
                            } catch {
                                return "\(error)"
                            }
                        }
                        if let outcome, outcome == nil {
                            logger.info(
                                "schedule fired",
                                metadata: [
                                    "schedule": "\(entry.schedule)", "slot": "\(entry.slot)",
                                    "outbox.id": "\(entry.id)",
                                ])
                            return entry.id
                        }
                        logger.warning(
                            "could not send a scheduled start; it is re-sent later",
                            metadata: [
                                "schedule": "\(entry.schedule)", "slot": "\(entry.slot)",
                                "error": "\((outcome ?? nil) ?? "not confirmed within \(Self.publishTimeout)")",
                            ])
                        return nil
                    }
                }
                var sent: [Int64] = []
                for await id in group { if let id { sent.append(id) } }
                return sent
            }
        }
        outcome.unsent += entries.count - sent.count
        outcome.sent += sent.count
        outcome.queries += 1
        try await store.markSent(sent)
    }

    /// Syncs the schedules of the registry's job definitions into `store` (worker start-up): see
    /// ``PostgresScheduleStore/syncCodeSchedules(_:jobs:start:)``.
    public static func syncCodeSchedules(
        _ registry: JobRegistry, into store: any ScheduleStore, logger: Logger
    ) async throws {
        let (changed, removed) = try await store.syncCodeSchedules(
            SchedulePlanner.codeSchedules(of: registry), jobs: registry.names
        ) { schedule, now in
            SchedulePlanner.start(schedule, now: now)
        }
        if !changed.isEmpty || !removed.isEmpty {
            logger.info(
                "synced the schedules of the job definitions",
                metadata: ["changed": "\(changed)", "removed": "\(removed)"])
        }
    }
}
