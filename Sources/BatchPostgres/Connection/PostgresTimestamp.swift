import Batch
import Foundation

/// Formats and parses `timestamptz` text in the ISO style the connection sets (`DateStyle=ISO`, `TimeZone=UTC`).
enum PostgresTimestamp {
    /// `2026-11-25 15:12:03.123456+00`, rounded to the microsecond, in UTC.
    static func format(_ date: Date) -> String {
        let totalMicros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        var seconds = Int64((totalMicros / 1_000_000).rounded(.down))
        let micros = Int64(totalMicros - Double(seconds) * 1_000_000)
        var days = seconds / 86_400
        seconds -= days * 86_400
        if seconds < 0 {
            seconds += 86_400
            days -= 1
        }
        let (year, month, day) = CivilCalendar.date(fromDays: days)
        let yearText = year > 0 ? pad(year, 4) : pad(1 - year, 4)
        let text =
            "\(yearText)-\(pad(month, 2))-\(pad(day, 2)) \(pad(seconds / 3600, 2)):\(pad(seconds % 3600 / 60, 2))"
            + ":\(pad(seconds % 60, 2)).\(pad(micros, 6))+00"
        return year > 0 ? text : text + " BC"
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]][ BC]`, and `infinity` / `-infinity`.
    static func parse(_ text: String) -> Date? {
        switch text {
        case "infinity": return .distantFuture
        case "-infinity": return .distantPast
        default: break
        }
        var bytes = Array(text.utf8)[...]
        var isBC = false
        if bytes.count > 3 && bytes.suffix(3).elementsEqual(" BC".utf8) {
            isBC = true
            bytes = bytes.dropLast(3)
        }
        var index = bytes.startIndex
        func number(maxDigits: Int = .max) -> Int64? {
            var value: Int64 = 0
            var count = 0
            while index < bytes.endIndex, count < maxDigits, bytes[index] >= 48, bytes[index] <= 57 {
                value = value * 10 + Int64(bytes[index] - 48)
                index += 1
                count += 1
            }
            return count > 0 ? value : nil
        }
        func expect(_ character: Character) -> Bool {
            guard index < bytes.endIndex, bytes[index] == character.asciiValue! else { return false }
            index += 1
            return true
        }
        guard var year = number(), expect("-"), let month = number(), expect("-"), let day = number(),
            expect(" ") || expect("T"), let hour = number(), expect(":"), let minute = number(), expect(":"),
            let second = number()
        else { return nil }
        var micros: Int64 = 0
        if expect(".") {
            let start = index
            guard let fraction = number() else { return nil }
            var digits = index - start
            micros = fraction
            while digits < 6 {
                micros *= 10
                digits += 1
            }
            while digits > 6 {
                micros /= 10
                digits -= 1
            }
        }
        var offset: Int64 = 0
        if index < bytes.endIndex {
            let sign: Int64
            if expect("+") {
                sign = 1
            } else if expect("-") {
                sign = -1
            } else {
                return nil
            }
            guard let offsetHours = number(maxDigits: 2) else { return nil }
            offset = offsetHours * 3600
            if expect(":") {
                guard let offsetMinutes = number(maxDigits: 2) else { return nil }
                offset += offsetMinutes * 60
                if expect(":") {
                    guard let offsetSeconds = number(maxDigits: 2) else { return nil }
                    offset += offsetSeconds
                }
            }
            offset *= sign
        }
        guard index == bytes.endIndex else { return nil }
        if isBC { year = 1 - year }
        let days = CivilCalendar.days(fromYear: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
