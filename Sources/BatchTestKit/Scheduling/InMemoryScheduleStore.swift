import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchWorker
import Foundation
import Synchronization

/// A ``ScheduleStore`` in memory, the twin of the `schedules`, `schedule_firings` and `schedule_outbox` tables for
/// tests: the same claim (one holder at a time), the same once-per-slot rule, the same outbox, on a clock the test
/// sets.
public final class InMemoryScheduleStore: ScheduleStore {
    private struct State {
        var schedules: [String: ScheduleRecord] = [:]
        var firings: [String: [Date]] = [:]
        var outbox: [(entry: ScheduleOutboxEntry, attempted: Date)] = []
        var nextId: Int64 = 1
        var now: Date
        var probes = 0
        var failure: (any Error)?
    }

    private let state: Mutex<State>

    /// Creates an empty store whose clock reads `now`.
    public init(now: Date) { state = Mutex(State(now: now)) }

    /// The store's clock (the database's `now()`).
    public var now: Date {
        get { state.withLock { $0.now } }
        set { state.withLock { $0.now = newValue } }
    }

    /// Moves the clock on.
    public func advance(by seconds: TimeInterval) { state.withLock { $0.now += seconds } }
    /// Makes every later call throw `error` (a database away), or succeed again with `nil`.
    public func fail(with error: (any Error)?) { state.withLock { $0.failure = error } }
    /// How many probes were made.
    public var probes: Int { state.withLock { $0.probes } }
    /// The schedules.
    public var schedules: [String: ScheduleRecord] { state.withLock { $0.schedules } }
    /// The slots each schedule fired, in order.
    public func firedSlots(of name: String) -> [Date] { state.withLock { $0.firings[name] ?? [] } }
    /// The outbox entries not yet sent (sent ones are removed).
    public var unsent: [ScheduleOutboxEntry] { state.withLock { $0.outbox.map(\.entry) } }

    /// Adds (or replaces) a schedule as it is, next fire time and last slot included.
    public func put(_ record: ScheduleRecord) { state.withLock { $0.schedules[record.name] = record } }

    private func check() throws {
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// See ``ScheduleStore/probe(resendAfter:)``.
    public func probe(resendAfter: Duration) async throws -> (due: Bool, unsent: Bool) {
        try check()
        return state.withLock { state in
            state.probes += 1
            let now = state.now
            let due = state.schedules.values.contains { !$0.paused && ($0.nextFireTime.map { $0 <= now } ?? false) }
            let limit = now - resendAfter.timeInterval
            let unsent = state.outbox.contains { $0.attempted <= limit }
            return (due, unsent)
        }
    }

    /// See ``ScheduleStore/fireDue(limit:advance:)``.
    public func fireDue(
        limit: Int, advance: (ScheduleRecord, Date) -> ScheduleAdvance
    ) async throws
        -> (entries: [ScheduleOutboxEntry], claimed: Int)
    {
        try check()
        return state.withLock { state in
            let now = state.now
            let due = state.schedules.values.filter { !$0.paused && ($0.nextFireTime.map { $0 <= now } ?? false) }
                .sorted { ($0.nextFireTime ?? now, $0.name) < ($1.nextFireTime ?? now, $1.name) }.prefix(limit)
            var entries: [ScheduleOutboxEntry] = []
            for schedule in due {
                let advanced = advance(schedule, now)
                for firing in advanced.fire where !(state.firings[schedule.name] ?? []).contains(firing.slot) {
                    state.firings[schedule.name, default: []].append(firing.slot)
                    let entry = ScheduleOutboxEntry(
                        id: state.nextId, schedule: schedule.name, slot: firing.slot, command: firing.command)
                    state.nextId += 1
                    state.outbox.append((entry, now))
                    entries.append(entry)
                }
                state.schedules[schedule.name]?.nextFireTime = advanced.nextFireTime
                state.schedules[schedule.name]?.lastSlot = advanced.lastSlot
            }
            return (entries, due.count)
        }
    }

    /// See ``ScheduleStore/claimUnsent(olderThan:limit:)``.
    public func claimUnsent(olderThan: Duration, limit: Int) async throws -> [ScheduleOutboxEntry] {
        try check()
        return state.withLock { state in
            let now = state.now
            let cutoff = now - olderThan.timeInterval
            var claimed: [ScheduleOutboxEntry] = []
            for index in state.outbox.indices
            where state.outbox[index].attempted <= cutoff && claimed.count < limit {
                state.outbox[index].attempted = now
                claimed.append(state.outbox[index].entry)
            }
            return claimed
        }
    }

    /// See ``ScheduleStore/markSent(_:)``.
    public func markSent(_ ids: [Int64]) async throws {
        try check()
        state.withLock { state in
            state.outbox.removeAll { ids.contains($0.entry.id) }
        }
    }

    /// See ``ScheduleStore/syncCodeSchedules(_:jobs:start:)``.
    public func syncCodeSchedules(
        _ definitions: [ScheduleRecord], jobs: [String], start: (ScheduleRecord, Date) -> (lastSlot: Date?, next: Date?)
    ) async throws -> (changed: [String], removed: [String]) {
        try check()
        return state.withLock { state in
            var changed: [String] = []
            for definition in definitions {
                let stored = state.schedules[definition.name]
                if let stored, stored.origin == .code, stored.sameDefinition(as: definition) { continue }
                let fresh = start(definition, state.now)
                let (lastSlot, next) = stored?.changed(to: fresh, now: state.now) ?? fresh
                var record = definition
                record.origin = .code
                record.paused = stored?.paused ?? false
                record.lastSlot = lastSlot
                record.nextFireTime = next
                state.schedules[definition.name] = record
                changed.append(definition.name)
            }
            let names = Set(definitions.map(\.name))
            let removed = state.schedules.values.filter {
                $0.origin == .code && jobs.contains($0.job) && !names.contains($0.name)
            }.map(\.name).sorted()
            for name in removed { state.schedules[name] = nil }
            return (changed, removed)
        }
    }
}

/// A ``CommandSender`` in memory: records what is sent, or fails while told to (a broker away).
public final class InMemoryCommandSender: CommandSender {
    private let state = Mutex<(sent: [Command], failure: (any Error)?)>(([], nil))

    /// Creates a sender.
    public init() {}

    /// The commands sent, in order.
    public var sent: [Command] { state.withLock { $0.sent } }
    /// Makes every later send throw `error`, or succeed again with `nil`.
    public func fail(with error: (any Error)?) { state.withLock { $0.failure = error } }

    /// Records the command, or throws the failure set.
    public func send(_ command: Command) async throws {
        try state.withLock { state in
            if let failure = state.failure { throw failure }
            state.sent.append(command)
        }
    }
}
