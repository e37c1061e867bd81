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
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9_999).contains(year),
            let date = Self.utc.date(from: DateComponents(year: year, month: month, day: day)),
            Self.utc.dateComponents([.year, .month, .day], from: date)
                == DateComponents(year: year, month: month, day: day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `yyyy-MM-dd`; nil for any other text or a day that does not exist.
    public init?(_ description: String) {
        guard let date = BatchDate.parse(description) else { return nil }
        let components = Self.utc.dateComponents([.year, .month, .day], from: date)
        guard let year = components.year, let month = components.month, let day = components.day else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The day of `date` in `timeZone` (UTC unless given).
    public init(_ date: Date, in timeZone: TimeZone = TimeZone(identifier: "UTC")!) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let components = calendar.dateComponents([.year, .month, .day], from: date)
        self.year = components.year ?? 1970
        self.month = components.month ?? 1
        self.day = components.day ?? 1
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
        Self.utc.date(from: DateComponents(year: year, month: month, day: day)) ?? Date(timeIntervalSince1970: 0)
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

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
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
