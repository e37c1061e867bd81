import Foundation

/// A calendar day — year, month and day, no time and no time zone — written `yyyy-MM-dd`.
///
/// What a `date` job parameter usually means: ``JobParameters/day(_:)`` reads one, and a typed parameters struct
/// (``Job/init(_:parameters:steps:)``) may hold one as a field; it encodes and decodes as its `yyyy-MM-dd` text.
public struct CalendarDay: Sendable, Hashable, Comparable, Codable, LosslessStringConvertible {
    /// The year (four digits when written).
    public let year: Int
    /// The month, 1…12.
    public let month: Int
    /// The day of the month, 1…31.
    public let day: Int

    /// The day `year`-`month`-`day`, or nil when there is no such day (a 30 February, a month 13).
    /// Days are those of the proleptic Gregorian calendar (as in ISO 8601 and PostgreSQL), before 1582 too.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9_999).contains(year), (1...12).contains(month),
            (1...CivilCalendar.daysIn(month: Int64(month), of: Int64(year))).contains(Int64(day))
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `yyyy-MM-dd`; nil for any other text or a day that does not exist.
    public init?(_ description: String) {
        let bytes = Array(description.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The day of `date` in `timeZone` (UTC unless given).
    public init(_ date: Date, in timeZone: TimeZone = .gmt) {
        let seconds = date.timeIntervalSince1970 + TimeInterval(timeZone.secondsFromGMT(for: date))
        let days = Int64(exactly: (seconds / 86_400).rounded(.down)) ?? 0
        let (year, month, day) = CivilCalendar.date(fromDays: days)
        self.year = Int(year)
        self.month = Int(month)
        self.day = Int(day)
    }

    /// `yyyy-MM-dd`.
    public var description: String {
        func padded(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }

    /// Midnight UTC at the start of the day.
    public var date: Date {
        let days = CivilCalendar.days(fromYear: Int64(year), month: Int64(month), day: Int64(day))
        return Date(timeIntervalSince1970: TimeInterval(days) * 86_400)
    }

    /// Earlier days first.
    public static func < (lhs: CalendarDay, rhs: CalendarDay) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Decodes `yyyy-MM-dd` text.
    /// - Throws: `DecodingError.dataCorrupted` naming the text when it is not a real day.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let day = CalendarDay(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a day yyyy-MM-dd, got '\(text.prefix(80))'")
        }
        self = day
    }

    /// Encodes `yyyy-MM-dd` text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension JobParameters {
    /// The date parameter `key`, written `yyyy-MM-dd`, as the calendar day (no time, no time zone); see
    /// ``date(_:)`` for the same day as a `Date`.
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is missing, not a string, or not a real day.
    public func day(_ key: String) throws -> CalendarDay {
        let date = try date(key)
        return CalendarDay(date)
    }
}
