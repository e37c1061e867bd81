/// A parsed cron expression: when, in wall-clock terms, a schedule fires.
///
/// Five fields — `minute hour day-of-month month day-of-week` — or six with `second` first. Each field is a
/// comma-separated list of `*`, a value `n`, a range `a-b`, each optionally with a step (`*/15`, `5-50/10`; `n/step`
/// means from `n` to the field's maximum). Months take `JAN`–`DEC` and days of the week `SUN`–`SAT` (0 and 7 are both
/// Sunday), in any case. `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`) stand for
/// `0 * * * *`, `0 0 * * *`, `0 0 * * 0`, `0 0 1 * *` and `0 0 1 1 *`.
///
/// Day of month and day of week follow Vixie cron's rule (cronie's and most crons' too): when either field starts
/// with `*` (`*`, `*/2`), a day must match both; when neither does, a day matches if either matches. So
/// `0 0 13 * FRI` is every 13th and every Friday, `0 0 */2 * MON` the odd days that are Mondays, and
/// `0 0 1-31 * MON` every day.
///
/// ```swift
/// let expression = try CronExpression("0 2 * * MON-FRI")   // 02:00 on weekdays
/// ```
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as given, its fields separated by single spaces.
    public let description: String
    let seconds: CronValues
    let minutes: CronValues
    let hours: CronValues
    let daysOfMonth: CronValues
    let months: CronValues
    let daysOfWeek: CronValues
    /// Whether the day-of-month field starts with `*`.
    let dayOfMonthStar: Bool
    /// Whether the day-of-week field starts with `*`.
    let dayOfWeekStar: Bool

    /// The macros and the expressions they stand for.
    private static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses a cron expression.
    /// - Throws: ``BatchError/Code/invalidSchedule`` saying which field is wrong and why (`invalid cron expression
    ///   '61 * * * *': minute field: 61 is out of range 0–59`), or that the number of fields is wrong.
    public init(_ text: String) throws {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let normalised = fields.joined(separator: " ")
        let shown = normalised.count > 200 ? String(normalised.prefix(200)) + "…" : normalised
        func refuse(_ reason: String) -> BatchError {
            BatchError(.invalidSchedule, "invalid cron expression '\(shown)': \(reason)")
        }
        guard !text.contains(where: \.isNewline) else { throw refuse("it must be on one line") }
        var parts = fields
        if fields.count == 1, fields[0].hasPrefix("@") {
            guard let expansion = Self.macros[fields[0].lowercased()] else {
                throw refuse("unknown macro; use @hourly, @daily, @weekly, @monthly or @yearly")
            }
            parts = expansion.split(separator: " ").map(String.init)
        }
        guard parts.count == 5 || parts.count == 6 else {
            throw refuse(
                "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got "
                    + "\(parts.count)")
        }
        if parts.count == 5 { parts.insert("0", at: 0) }
        do {
            seconds = try CronFieldKind.second.parse(parts[0])
            minutes = try CronFieldKind.minute.parse(parts[1])
            hours = try CronFieldKind.hour.parse(parts[2])
            daysOfMonth = try CronFieldKind.dayOfMonth.parse(parts[3])
            months = try CronFieldKind.month.parse(parts[4])
            daysOfWeek = try CronFieldKind.dayOfWeek.parse(parts[5])
            dayOfMonthStar = parts[3].hasPrefix("*")
            dayOfWeekStar = parts[5].hasPrefix("*")
        } catch let error as BatchError {
            throw refuse(error.message)
        }
        description = normalised
        if dayOfMonthStar || dayOfWeekStar, let reason = impossibleDays() {
            throw refuse("day-of-month field: \(reason)")
        }
    }

    /// Why the day-of-month field never meets the months selected, or nil when some day does.
    private func impossibleDays() -> String? {
        guard let firstDay = daysOfMonth.next(atOrAfter: 1) else { return nil }
        let selected = months.values
        if selected.contains(where: { firstDay <= CivilCalendar.daysIn(month: Int64($0), of: 2000) }) { return nil }
        let names = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        return "day \(firstDay) never occurs in \(selected.map { names[$0 - 1] }.joined(separator: ","))"
    }

    /// Whether the day `year`-`month`-`day` (`weekday` 0 = Sunday) matches the day fields.
    func matchesDay(month: Int, day: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        if dayOfMonthStar || dayOfWeekStar { return daysOfMonth.contains(day) && daysOfWeek.contains(weekday) }
        return daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
    }
}
