import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation

/// Where the schedules live, as the ``SchedulerService`` of every worker sees them: one cheap probe per tick,
/// a claim of the due schedules that records their firings and start commands in one transaction, and the outbox
/// of starts to publish.
///
/// ``PostgresScheduleStore`` is the production store (by the database clock); ``InMemoryScheduleStore`` (in
/// `BatchTestKit`) its twin for tests.
public protocol ScheduleStore: Sendable {
    /// Whether any schedule is due now, and whether any start has waited unsent longer than `resendAfter`: the
    /// one query of a tick when nothing is due.
    func probe(resendAfter: Duration) async throws -> (due: Bool, unsent: Bool)
    /// Claims up to `limit` due schedules no other worker holds and, in one transaction, records the slots
    /// `advance` fires for each (a slot fired already is left out), their start commands in the outbox, and each
    /// schedule's next fire time.
    /// - Returns: the outbox entries recorded, and how many schedules were claimed.
    func fireDue(
        limit: Int, advance: (ScheduleRecord, Date) -> ScheduleAdvance
    ) async throws
        -> (entries: [ScheduleOutboxEntry], claimed: Int)
    /// Claims up to `limit` starts unsent since longer than `olderThan`; no other worker gets them for as long.
    func claimUnsent(olderThan: Duration, limit: Int) async throws -> [ScheduleOutboxEntry]
    /// Removes starts the broker confirmed from the outbox.
    func markSent(_ ids: [Int64]) async throws
    /// Syncs the schedules of the job definitions (see ``PostgresScheduleStore/syncCodeSchedules(_:jobs:start:)``).
    /// - Returns: the names added or changed, and those removed.
    func syncCodeSchedules(
        _ definitions: [ScheduleRecord], jobs: [String], start: (ScheduleRecord, Date) -> (lastSlot: Date?, next: Date?)
    ) async throws -> (changed: [String], removed: [String])
}

/// Where the scheduler sends the start commands it fires: the commands queue, confirmed.
public protocol CommandSender: Sendable {
    /// Sends one command; returns once the broker confirmed it.
    func send(_ command: Command) async throws
}

extension PostgresScheduleStore: ScheduleStore {}

/// RabbitMQ carries the scheduled starts (`batch.commands`, published with confirms).
extension BatchMessaging: CommandSender {}
