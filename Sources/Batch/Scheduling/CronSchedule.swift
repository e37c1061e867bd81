import Foundation

/// A cron expression in a time zone: the instants at which a schedule fires.
///
/// The expression is read in the zone's wall-clock time (IANA zones, through Foundation's `TimeZone`; UTC by
/// default). Across daylight-saving changes:
/// - a wall-clock time skipped by a spring-forward fires once, at the first valid instant after it (the change
///   itself: `30 2 * * *` in Europe/Berlin fires at 03:00 CEST on the last Sunday of March);
/// - a wall-clock time that occurs twice (fall-back) fires once, at its first occurrence; a schedule firing every
///   minute fires each wall-clock minute of the repeated hour once.
///
/// Slots fall on whole seconds. Searches go field by field (month, day, hour, minute, second), skipping ahead, so
/// even a yearly schedule with seconds (or a 29 February one) is found at once. The search looks 400 years ahead (the
/// Gregorian cycle); a schedule with nothing in that span has no next slot.
///
/// ```swift
/// let schedule = try CronSchedule(cron: "0 2 * * *", timeZone: "Europe/Berlin")
/// let next = schedule.nextFire(after: .now)
/// ```
public struct CronSchedule: Sendable, Hashable {
    /// The expression.
    public let expression: CronExpression
    /// The zone the expression's wall-clock times are read in.
    public let timeZone: TimeZone

    /// Creates a schedule of `expression` in `timeZone` (UTC by default).
    public init(_ expression: CronExpression, timeZone: TimeZone = .gmt) {
        self.expression = expression
        self.timeZone = timeZone
    }

    /// The zone's IANA name as people write it: Foundation on Linux names UTC `GMT`; this says `UTC`.
    public var timeZoneName: String {
        timeZone.identifier == "GMT" ? "UTC" : timeZone.identifier
    }

    /// Parses `cron` and looks up the IANA zone `identifier` (`Europe/Berlin`, `UTC`).
    /// - Throws: ``BatchError/Code/invalidSchedule`` when the expression is invalid (the message names the field)
    ///   or the zone is unknown.
    public init(cron: String, timeZone identifier: String = "UTC") throws {
        let expression = try CronExpression(cron)
        guard let zone = TimeZone(identifier: identifier) else {
            throw BatchError(
                .invalidSchedule,
                "unknown time zone '\(identifier.prefix(100))': use an IANA zone such as 'UTC' or 'Europe/Berlin'")
        }
        self.init(expression, timeZone: zone)
    }

    /// The first slot strictly after `instant`, or nil when the expression never matches again (within 400 years).
    public func nextFire(after instant: Date) -> Date? {
        nextSlot(after: Self.seconds(flooring: instant)).map(Self.date)
    }

    /// The last slot at or before `instant`, or nil when there is none (within 400 years).
    public func latestFire(atOrBefore instant: Date) -> Date? {
        latestSlot(atOrBefore: Self.seconds(flooring: instant)).map(Self.date)
    }

    /// The slots after `instant` and at or before `end`, in order, at most `limit` of them.
    public func slots(after instant: Date, through end: Date, limit: Int) -> [Date] {
        var result: [Date] = []
        let last = Self.seconds(flooring: end)
        var current = Self.seconds(flooring: instant)
        while result.count < limit, let slot = nextSlot(after: current), slot <= last {
            result.append(Self.date(slot))
            current = slot
        }
        return result
    }

    // MARK: Instants (whole seconds since 1970, UTC)

    static func seconds(flooring date: Date) -> Int64 {
        let value = date.timeIntervalSince1970.rounded(.down)
        return Int64(exactly: min(max(value, -1e15), 1e15)) ?? 0
    }

    static func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }

    /// The zone's offset from UTC at the instant `seconds`.
    func offset(at seconds: Int64) -> Int64 {
        Int64(timeZone.secondsFromGMT(for: Self.date(seconds)))
    }

    /// The first slot strictly after the instant `after`.
    func nextSlot(after: Int64) -> Int64? {
        // No wall-clock time at or before the wall-clock time of `after` maps after it (the mapping is monotonic
        // and `after` is an occurrence of its own wall-clock time); later ones may map to or before it only inside
        // a repeated hour, so this loop is bounded by the slots of one hour.
        var wall = after + offset(at: after)
        while let candidate = nextWall(after: wall) {
            let instant = firstInstant(ofWall: candidate)
            if instant > after { return instant }
            wall = candidate
        }
        return nil
    }

    /// The last slot at or before the instant `atOrBefore`.
    func latestSlot(atOrBefore: Int64) -> Int64? {
        // A wall-clock time maps at or before `atOrBefore` only if it is at most `atOrBefore` plus the larger offset
        // of the day before (a repeated hour's first occurrence uses the earlier, larger offset).
        let widest = max(offset(at: atOrBefore), offset(at: atOrBefore - 86_400))
        var candidate = previousWall(before: atOrBefore + widest + 1)
        while let wall = candidate {
            let instant = firstInstant(ofWall: wall)
            if instant <= atOrBefore { return instant }
            candidate = previousWall(before: wall)
        }
        return nil
    }

    /// The instant a wall-clock time fires at: its only occurrence, its first one when it occurs twice, or the first
    /// valid instant after it when a spring-forward skips it.
    func firstInstant(ofWall wall: Int64) -> Int64 {
        let before = offset(at: wall - 86_400)
        let after = offset(at: wall + 86_400)
        var occurrences: [Int64] = []
        for candidate in [before, after] where offset(at: wall - candidate) == candidate {
            occurrences.append(wall - candidate)
        }
        if let first = occurrences.min() { return first }
        guard after > before else { return wall - before }
        // Skipped: the first instant whose wall-clock time is at or after `wall` (the change itself).
        var low = wall - after  // wall-clock time before `wall`
        var high = wall - before  // wall-clock time after `wall`
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if middle + offset(at: middle) >= wall { high = middle } else { low = middle }
        }
        return high
    }

    // MARK: Wall-clock times (whole seconds since 1970-01-01T00:00 local, ignoring offsets)

    /// The first wall-clock time strictly after `wall` that the expression selects.
    func nextWall(after wall: Int64) -> Int64? {
        var time = WallTime(wall + 1)
        let lastYear = time.year + 400
        let fields = expression
        while time.year <= lastYear {
            guard fields.months.contains(Int(time.month)) else {
                if let month = fields.months.next(atOrAfter: Int(time.month) + 1) {
                    time.set(year: time.year, month: Int64(month), day: 1)
                } else {
                    time.set(year: time.year + 1, month: Int64(fields.months.next(atOrAfter: 0) ?? 1), day: 1)
                }
                continue
            }
            guard fields.matchesDay(month: Int(time.month), day: Int(time.day), weekday: time.weekday) else {
                time.set(days: time.days + 1)
                continue
            }
            guard let hour = fields.hours.next(atOrAfter: Int(time.hour)) else {
                time.set(days: time.days + 1)
                continue
            }
            if hour != time.hour { time.set(hour: Int64(hour), minute: 0, second: 0) }
            guard let minute = fields.minutes.next(atOrAfter: Int(time.minute)) else {
                time.advance(hours: 1)
                continue
            }
            if minute != time.minute { time.set(hour: time.hour, minute: Int64(minute), second: 0) }
            guard let second = fields.seconds.next(atOrAfter: Int(time.second)) else {
                time.advance(minutes: 1)
                continue
            }
            time.set(hour: time.hour, minute: time.minute, second: Int64(second))
            return time.wall
        }
        return nil
    }

    /// The last wall-clock time strictly before `wall` that the expression selects.
    func previousWall(before wall: Int64) -> Int64? {
        var time = WallTime(wall - 1)
        let firstYear = time.year - 400
        let fields = expression
        while time.year >= firstYear {
            guard fields.months.contains(Int(time.month)) else {
                if let month = fields.months.previous(atOrBelow: Int(time.month) - 1) {
                    time.setEnd(year: time.year, month: Int64(month))
                } else {
                    time.setEnd(year: time.year - 1, month: Int64(fields.months.previous(atOrBelow: 12) ?? 12))
                }
                continue
            }
            guard fields.matchesDay(month: Int(time.month), day: Int(time.day), weekday: time.weekday) else {
                time.set(days: time.days - 1, hour: 23, minute: 59, second: 59)
                continue
            }
            guard let hour = fields.hours.previous(atOrBelow: Int(time.hour)) else {
                time.set(days: time.days - 1, hour: 23, minute: 59, second: 59)
                continue
            }
            if hour != time.hour { time.set(hour: Int64(hour), minute: 59, second: 59) }
            guard let minute = fields.minutes.previous(atOrBelow: Int(time.minute)) else {
                time.set(wall: time.wall - time.minute * 60 - time.second - 1)
                continue
            }
            if minute != time.minute { time.set(hour: time.hour, minute: Int64(minute), second: 59) }
            guard let second = fields.seconds.previous(atOrBelow: Int(time.second)) else {
                time.set(wall: time.wall - time.second - 1)
                continue
            }
            time.set(hour: time.hour, minute: time.minute, second: Int64(second))
            return time.wall
        }
        return nil
    }
}

/// A wall-clock time split into its calendar fields.
struct WallTime {
    private(set) var days: Int64 = 0
    private(set) var year: Int64 = 0
    private(set) var month: Int64 = 0
    private(set) var day: Int64 = 0
    private(set) var hour: Int64 = 0
    private(set) var minute: Int64 = 0
    private(set) var second: Int64 = 0

    init(_ wall: Int64) { set(wall: wall) }

    /// Seconds since 1970-01-01T00:00 wall-clock time.
    var wall: Int64 { days * 86_400 + hour * 3_600 + minute * 60 + second }

    /// 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday).
    var weekday: Int { Int(((days % 7) + 7 + 4) % 7) }

    mutating func set(wall: Int64) {
        let days = wall >= 0 ? wall / 86_400 : (wall - 86_399) / 86_400
        let rest = wall - days * 86_400
        set(days: days, hour: rest / 3_600, minute: rest / 60 % 60, second: rest % 60)
    }

    mutating func set(days: Int64, hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0) {
        self.days = days
        (year, month, day) = CivilCalendar.date(fromDays: days)
        set(hour: hour, minute: minute, second: second)
    }

    /// The start of `year`-`month`-`day`.
    mutating func set(year: Int64, month: Int64, day: Int64) {
        set(days: CivilCalendar.days(fromYear: year, month: month, day: day))
    }

    /// The last second of `year`-`month`.
    mutating func setEnd(year: Int64, month: Int64) {
        let last = CivilCalendar.daysIn(month: month, of: year)
        set(days: CivilCalendar.days(fromYear: year, month: month, day: last), hour: 23, minute: 59, second: 59)
    }

    mutating func set(hour: Int64, minute: Int64, second: Int64) {
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// The start of the next hour.
    mutating func advance(hours: Int64) { set(wall: wall - minute * 60 - second + hours * 3_600) }

    /// The start of the next minute.
    mutating func advance(minutes: Int64) { set(wall: wall - second + minutes * 60) }
}
