import BatchPostgres
import Foundation

/// The scheduler's planning the schedule operations need, handed in by the worker module (where the scheduler
/// lives) so that the server depends on nothing above it.
public struct SchedulePlanning: Sendable {
    /// Where a schedule starts from at `now` (added or resumed): `(lastSlot, nextFireTime)`.
    public var start: @Sendable (ScheduleRecord, Date) -> (lastSlot: Date?, next: Date?)
    /// The firing of a slot: the start command of the schedule's job with the template filled.
    public var firing: @Sendable (ScheduleRecord, Date) throws -> ScheduleFiringPlan

    /// Creates the planning from its two functions.
    public init(
        start: @escaping @Sendable (ScheduleRecord, Date) -> (lastSlot: Date?, next: Date?),
        firing: @escaping @Sendable (ScheduleRecord, Date) throws -> ScheduleFiringPlan
    ) {
        self.start = start
        self.firing = firing
    }
}
