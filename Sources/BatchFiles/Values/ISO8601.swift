import Batch
import Foundation

/// ISO 8601 dates for CSV fields: `2026-11-25T10:00:00Z`, with as many fractional second digits as the date needs
/// to read back equal, or a date alone (`2026-11-25`, midnight UTC).
///
/// Parsed by hand, strictly: `Date.ISO8601FormatStyle` reads `2026-01-01T10:00:00Zjunk`, drops the fraction of
/// `10:00:00.5Z` and rolls `2026-02-30` over to March. Accepted: `YYYY-MM-DD`, or that, `T`, `hh:mm:ss`, an
/// optional `.` and digits, and `Z` or an offset `±hh:mm` (or `±hhmm`); every part in range.
enum ISO8601 {
    /// Seconds from 1970-01-01 to 2001-01-01, the reference date of `Date`.
    private static let referenceOffset: Int64 = 978_307_200

    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int64? {
            guard i + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[i..<(i + count)] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            i += count
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard i < bytes.count, bytes[i] == character.asciiValue else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            (1...12).contains(month), day >= 1, day <= CivilCalendar.daysIn(month: month, of: year)
        else { return nil }
        let days = CivilCalendar.days(fromYear: year, month: month, day: day)
        if i == bytes.count { return date(seconds: days * 86_400, fraction: 0) }
        guard expect("T"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2), hour < 24, minute < 60, second < 60
        else { return nil }
        var fraction = 0.0
        if expect(".") {
            let start = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
            guard i > start, let value = Double("0." + String(decoding: bytes[start..<i], as: UTF8.self)) else {
                return nil
            }
            fraction = value
        }
        var offset: Int64 = 0
        if expect("Z") {
            offset = 0
        } else if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let hours = number(2), hours < 24 else { return nil }
            _ = expect(":")
            guard let minutes = number(2), minutes < 60 else { return nil }
            offset = sign * (hours * 3_600 + minutes * 60)
        } else {
            return nil
        }
        guard i == bytes.count else { return nil }
        return date(seconds: days * 86_400 + hour * 3_600 + minute * 60 + second - offset, fraction: fraction)
    }

    /// The date `seconds` after 1970 plus `fraction`, computed as ``format(_:)`` expects to read it back.
    private static func date(seconds: Int64, fraction: Double) -> Date {
        Date(timeIntervalSinceReferenceDate: Double(seconds - referenceOffset) + fraction)
    }

    static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSinceReferenceDate
        guard interval.isFinite, abs(interval) < 1e15 else { return date.formatted(Date.ISO8601FormatStyle()) }
        let whole = interval.rounded(.down)
        let fraction = interval - whole
        let seconds = Int64(whole) + referenceOffset
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = seconds - days * 86_400
        let (year, month, day) = CivilCalendar.date(fromDays: days)
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(time / 3_600, 2) + ":"
        text += pad(time / 60 % 60, 2) + ":" + pad(time % 60, 2)
        if fraction > 0 { text += "." + digits(of: fraction, whole: whole, interval: interval) }
        return text + "Z"
    }

    /// The fewest fraction digits `d` for which `whole + Double("0.d")` is `interval` again.
    private static func digits(of fraction: Double, whole: Double, interval: Double) -> String {
        var best = ""
        var scale = 1.0
        for count in 1...20 {
            scale *= 10
            let scaled = (fraction * scale).rounded()
            guard scaled < scale else { continue }
            let text = pad(Int64(scaled), count)
            best = text
            if let value = Double("0." + text), whole + value == interval { break }
        }
        while best.count > 1, best.hasSuffix("0") { best.removeLast() }
        return best
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
