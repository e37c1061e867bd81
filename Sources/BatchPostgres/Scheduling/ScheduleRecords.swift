import Batch
import Foundation

/// A schedule as stored in the `schedules` table: which job to start, when (a cron expression in a time zone),
/// with which parameters (a template), and what to do with slots missed while no worker ran.
public struct ScheduleRecord: Sendable, Hashable, Codable {
    /// Where a schedule was defined.
    public enum Origin: String, Sendable, Hashable, Codable {
        /// On a job definition, synced to the database when a worker starts.
        case code
        /// With `swiftbatch schedule add`.
        case cli
    }

    /// The schedule's unique name.
    public var name: String
    /// The job it starts.
    public var job: String
    /// The cron expression (5 or 6 fields).
    public var cron: String
    /// The IANA time zone the expression and the template's placeholders are read in.
    public var timeZone: String
    /// The parameter template (a JSON object).
    public var template: JSONValue
    /// What to do with slots missed while no worker ran.
    public var misfire: MisfirePolicy
    /// Whether the schedule is paused (it fires nothing).
    public var paused: Bool
    /// Where it was defined.
    public var origin: Origin
    /// When it fires next (the database clock); nil when it never fires again.
    public var nextFireTime: Date?
    /// The time up to which its slots have been dealt with (fired or skipped).
    public var lastSlot: Date?

    /// Creates a record.
    public init(
        name: String, job: String, cron: String, timeZone: String = "UTC", template: JSONValue = .object([:]),
        misfire: MisfirePolicy = .once, paused: Bool = false, origin: Origin, nextFireTime: Date? = nil,
        lastSlot: Date? = nil
    ) {
        self.name = name
        self.job = job
        self.cron = cron
        self.timeZone = timeZone
        self.template = template
        self.misfire = misfire
        self.paused = paused
        self.origin = origin
        self.nextFireTime = nextFireTime
        self.lastSlot = lastSlot
    }

    /// Whether two records define the same schedule (job, expression, zone, template, misfire policy).
    public func sameDefinition(as other: ScheduleRecord) -> Bool {
        job == other.job && cron == other.cron && timeZone == other.timeZone && template == other.template
            && misfire == other.misfire
    }

    /// Where this stored schedule goes on when a sync gives it a new definition at `now`.
    ///
    /// The slots the stored definition had due (from its next fire time on) but did not fire are still missed, so
    /// the misfire policy decides them; the slots only the new expression has between the last one handled and the
    /// change are not missed. So the last slot handled becomes the stored one, or if later the latest slot of the
    /// new expression, but not past the second before the stored next fire time; and when a slot of the new
    /// expression falls after that and at or before `now`, the schedule is due at `now`.
    ///
    /// - Parameters:
    ///   - fresh: the new definition's `(latest slot at or before now, first slot after now)`.
    ///   - now: the current time.
    /// - Returns: the schedule's last slot handled and next fire time under its new definition.
    public func changed(
        to fresh: (lastSlot: Date?, next: Date?), now: Date
    ) -> (lastSlot: Date?, next: Date?) {
        let dueFrom = nextFireTime.map { $0.addingTimeInterval(-1) }
        let bound = [fresh.lastSlot, dueFrom].compactMap { $0 }.min()
        let handled = [lastSlot, bound].compactMap { $0 }.max()
        if let handled, let latest = fresh.lastSlot, latest > handled { return (handled, now) }
        return (handled, fresh.next)
    }
}

/// One slot to fire: the start command of the job with the filled template, and the instance it makes.
public struct ScheduleFiringPlan: Sendable, Hashable {
    /// The slot (the `scheduledTime` of the start).
    public var slot: Date
    /// The job started.
    public var jobName: String
    /// The instance key of the start (`nil` when this process does not know the job).
    public var jobKey: String?
    /// The start command, as its JSON body.
    public var command: JSONValue

    /// Creates a plan.
    public init(slot: Date, jobName: String, jobKey: String?, command: JSONValue) {
        self.slot = slot
        self.jobName = jobName
        self.jobKey = jobKey
        self.command = command
    }
}

/// What one due schedule fires, and where it stands afterwards.
public struct ScheduleAdvance: Sendable, Hashable {
    /// The slots to fire now, in order.
    public var fire: [ScheduleFiringPlan]
    /// The time up to which the slots are dealt with after this firing.
    public var lastSlot: Date?
    /// The next fire time after this firing; nil when the schedule never fires again.
    public var nextFireTime: Date?

    /// Creates an advance.
    public init(fire: [ScheduleFiringPlan], lastSlot: Date?, nextFireTime: Date?) {
        self.fire = fire
        self.lastSlot = lastSlot
        self.nextFireTime = nextFireTime
    }
}

/// A start command waiting in the outbox to be published (or published, not yet marked sent).
public struct ScheduleOutboxEntry: Sendable, Hashable {
    /// The outbox row's id.
    public var id: Int64
    /// The schedule that fired.
    public var schedule: String
    /// The slot fired.
    public var slot: Date
    /// The start command, as its JSON body.
    public var command: JSONValue

    /// Creates an entry.
    public init(id: Int64, schedule: String, slot: Date, command: JSONValue) {
        self.id = id
        self.schedule = schedule
        self.slot = slot
        self.command = command
    }
}

/// A schedule with its last firing and that firing's execution, as `swiftbatch schedule list` shows it.
public struct ScheduleListing: Sendable, Hashable, Codable {
    /// The schedule.
    public var schedule: ScheduleRecord
    /// The last slot fired, if any.
    public var lastFiredSlot: Date?
    /// When the last slot was fired.
    public var lastFiredAt: Date?
    /// The execution the last firing started, once a worker stored it.
    public var lastExecutionId: Int64?
    /// That execution's status.
    public var lastExecutionStatus: String?

    /// Creates a listing.
    public init(
        schedule: ScheduleRecord, lastFiredSlot: Date? = nil, lastFiredAt: Date? = nil, lastExecutionId: Int64? = nil,
        lastExecutionStatus: String? = nil
    ) {
        self.schedule = schedule
        self.lastFiredSlot = lastFiredSlot
        self.lastFiredAt = lastFiredAt
        self.lastExecutionId = lastExecutionId
        self.lastExecutionStatus = lastExecutionStatus
    }
}

/// The firing that started an execution: its schedule and slot.
public struct ScheduleFiringReference: Sendable, Hashable, Codable {
    /// The schedule.
    public var schedule: String
    /// The slot.
    public var slot: Date
    /// When it was fired.
    public var firedAt: Date

    /// Creates a reference.
    public init(schedule: String, slot: Date, firedAt: Date) {
        self.schedule = schedule
        self.slot = slot
        self.firedAt = firedAt
    }
}
