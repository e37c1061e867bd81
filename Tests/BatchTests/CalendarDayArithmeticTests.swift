import Batch
import Foundation
import Testing

/// Days of the proleptic Gregorian calendar, as ISO 8601 and PostgreSQL count them, written `yyyy-MM-dd`.
@Suite("CalendarDay: days of the proleptic Gregorian calendar")
struct CalendarDayArithmeticTests {
    @Test(
        "real days parse, impossible ones do not",
        arguments: [
            ("2026-11-25", true), ("2024-02-29", true), ("2026-02-29", false), ("2000-02-29", true),
            ("1900-02-29", false), ("1600-02-29", true), ("1000-02-29", false), ("1582-10-10", true),
            ("0001-01-01", true), ("9999-12-31", true), ("0000-01-01", false), ("2026-13-01", false),
            ("2026-04-31", false), ("2026-1-05", false), ("2026-01-05 ", false), ("２０２６-01-05", false),
            ("+026-01-05", false), ("2026/01/05", false),
        ])
    func parsing(_ text: String, _ valid: Bool) {
        let day = CalendarDay(text)
        #expect((day != nil) == valid, "\(text)")
        if let day { #expect(day.description == text) }
    }

    @Test("a day and its midnight agree, before 1582 too, and in a time zone ahead of UTC")
    func dateRoundTrip() throws {
        for text in ["1970-01-01", "1969-12-31", "2026-11-25", "1500-03-01", "0001-01-01", "9999-12-31"] {
            let day = try #require(CalendarDay(text))
            #expect(CalendarDay(day.date) == day, "\(text)")
        }
        let day = try #require(CalendarDay("2026-11-25"))
        let lateEvening = day.date.addingTimeInterval(23 * 3_600)  // 23:00 UTC is the 26th in Berlin
        #expect(
            CalendarDay(lateEvening, in: try #require(TimeZone(identifier: "Europe/Berlin"))).description
                == "2026-11-26")
        #expect(CalendarDay(day.date.addingTimeInterval(-1)).description == "2026-11-24")
    }
}
