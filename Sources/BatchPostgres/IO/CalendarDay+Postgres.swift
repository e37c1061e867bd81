/// A calendar day without a time or a time zone: a PostgreSQL `date` (proleptic Gregorian calendar).
///
/// It encodes and decodes as the text `2026-11-25`, so an `Encodable` item written by ``PostgresItemWriter`` puts
/// it in a `date` column, and a `Decodable` one reads it back from JSON or CSV alike.
/// ```swift
/// struct Entry: Codable { var account: Int; var bookedOn: PostgresDate }
/// let day = try PostgresDate("2026-11-25")
/// ```
public struct PostgresDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The year, 1 to 9999.
    public let year: Int
    /// The month, 1 to 12.
    public let month: Int
    /// The day of the month, 1 to 28, 29, 30 or 31.
    public let day: Int

    /// Creates a day.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidParameter`` when the day does not exist
    ///   (`2026-02-30`) or the year is outside 1...9999.
    public init(year: Int, month: Int, day: Int) throws {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...Self.daysIn(month: month, year: year)).contains(day)
        else {
            throw PostgresError(
                .invalidParameter, "\(year)-\(month)-\(day) is not a calendar day from 0001-01-01 to 9999-12-31")
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD` (exactly: four, two and two digits).
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidParameter`` for any other text or a day
    ///   that does not exist.
    public init(_ text: String) throws {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10)
        else {
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            throw PostgresError(.invalidParameter, "'\(shown)' is not a date in the form YYYY-MM-DD")
        }
        try self.init(year: year, month: month, day: day)
    }

    /// `2026-11-25`.
    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Whether `lhs` comes before `rhs`.
    public static func < (lhs: PostgresDate, rhs: PostgresDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Days since 2000-01-01, PostgreSQL's binary `date` (negative before it).
    var daysSince2000: Int32 {
        // Days before March 1st of a year counted from March, so that February's length comes last.
        let shifted = month <= 2 ? year - 1 : year
        let yearDays = 365 * shifted + shifted / 4 - shifted / 100 + shifted / 400
        let monthDays = (153 * (month <= 2 ? month + 9 : month - 3) + 2) / 5
        // 730_425 is that count for 2000-01-01.
        return Int32(yearDays + monthDays + day - 1 - 730_425)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

extension PostgresDate: Codable {
    /// Decodes `YYYY-MM-DD` from a string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            try self.init(try container.decode(String.self))
        } catch let error as PostgresError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    /// Encodes as the string `YYYY-MM-DD`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension PostgresDate: PostgresDecodable {
    /// A `date` column (`YYYY-MM-DD`, as the connection's ISO date style prints it).
    public init(postgresText text: String?, typeOID: UInt32) throws {
        let text = try Self.nonNull(text)
        do { try self.init(text) } catch { throw Self.mismatch(text) }
    }
}
