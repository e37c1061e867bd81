import Batch
import Foundation
import Testing

/// `CronSchedule.nextFire(after:)`: the first slot strictly after an instant, in the schedule's zone.
@Suite("Scheduling: next fire of cron schedules")
struct SchedulingNextFireTests {
    /// (expression, zone, after, expected next fire), instants in UTC.
    static let cases: [(String, String, String, String)] = [
        // Month ends: the 31st skips the months without one.
        ("0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z"),
        ("0 0 31 * *", "UTC", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"),
        ("0 0 31 * *", "UTC", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"),
        ("0 0 31 * *", "UTC", "2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z"),
        ("0 0 30 * *", "UTC", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z"),
        // Leap years: 29 February only in leap years (2100 is not one).
        ("0 0 29 2 *", "UTC", "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("0 0 29 2 *", "UTC", "2096-02-29T00:00:00Z", "2104-02-29T00:00:00Z"),
        ("0 0 28 2 *", "UTC", "2028-02-28T00:00:00Z", "2029-02-28T00:00:00Z"),
        // Europe/Berlin, spring forward on 2026-03-29 (02:00 CET → 03:00 CEST at 01:00 UTC).
        ("0 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", "2026-03-28T01:00:00Z"),
        ("0 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"),
        ("0 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"),
        // Europe/Berlin, fall back on 2026-10-25 (03:00 CEST → 02:00 CET at 01:00 UTC): the first occurrence only.
        ("0 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:00:00Z"),
        ("0 2 * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-10-25T01:00:00Z", "2026-10-26T01:30:00Z"),
        // America/New_York: spring forward 2026-03-08 (02:00 EST → 03:00 EDT at 07:00 UTC), fall back 2026-11-01
        // (02:00 EDT → 01:00 EST at 06:00 UTC).
        ("0 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"),
        ("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"),
        ("30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"),
        ("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z"),
        ("30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"),
        ("30 1 * * *", "America/New_York", "2026-11-01T06:10:00Z", "2026-11-02T06:30:00Z"),
        ("0 12 * * *", "America/New_York", "2026-11-25T00:00:00Z", "2026-11-25T17:00:00Z"),
        // Day of month with day of week: both restricted, either matches (Friday or the 13th).
        ("0 0 13 * 5", "UTC", "2026-11-01T00:00:00Z", "2026-11-06T00:00:00Z"),
        ("0 0 13 * 5", "UTC", "2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z"),
        ("0 0 13 * 5", "UTC", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z"),
        ("0 0 13 * 5", "UTC", "2026-12-11T00:00:00Z", "2026-12-13T00:00:00Z"),
        ("0 0 13 * *", "UTC", "2026-11-13T00:00:00Z", "2026-12-13T00:00:00Z"),
        // Vixie cron: a day field starting with `*` makes both count (odd days that are Mondays; 2026-11-09 is an
        // odd Monday), neither starting with it either (every day of 1-31, whatever the weekday).
        ("0 0 */2 * MON", "UTC", "2026-11-01T00:00:00Z", "2026-11-09T00:00:00Z"),
        ("0 0 */2 * MON", "UTC", "2026-11-09T00:00:00Z", "2026-11-23T00:00:00Z"),
        ("0 0 1-31 * MON", "UTC", "2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"),
        ("0 0 13 * */7", "UTC", "2026-11-01T00:00:00Z", "2026-12-13T00:00:00Z"),
        ("0 0 * * 5", "UTC", "2026-12-11T00:00:00Z", "2026-12-18T00:00:00Z"),
        ("0 0 * * 7", "UTC", "2026-11-25T00:00:00Z", "2026-11-29T00:00:00Z"),
        ("0 0 * * SUN", "UTC", "2026-11-25T00:00:00Z", "2026-11-29T00:00:00Z"),
        // Names of months and days, in any case.
        ("0 0 * JAN,JUL MON-FRI", "UTC", "2026-01-29T00:00:00Z", "2026-01-30T00:00:00Z"),
        ("0 0 * JAN,JUL MON-FRI", "UTC", "2026-01-30T00:00:00Z", "2026-07-01T00:00:00Z"),
        ("0 0 * jan,jul mon-fri", "UTC", "2026-01-30T00:00:00Z", "2026-07-01T00:00:00Z"),
        ("0 9 * * SAT", "UTC", "2026-11-25T00:00:00Z", "2026-11-28T09:00:00Z"),
        // Steps.
        ("*/15 * * * *", "UTC", "2026-11-25T10:07:00Z", "2026-11-25T10:15:00Z"),
        ("*/15 * * * *", "UTC", "2026-11-25T10:45:00Z", "2026-11-25T11:00:00Z"),
        ("5-50/10 * * * *", "UTC", "2026-11-25T10:05:00Z", "2026-11-25T10:15:00Z"),
        ("5-50/10 * * * *", "UTC", "2026-11-25T10:45:00Z", "2026-11-25T11:05:00Z"),
        ("10/20 * * * *", "UTC", "2026-11-25T10:30:00Z", "2026-11-25T10:50:00Z"),
        ("0 0 */10 * *", "UTC", "2026-11-21T00:00:00Z", "2026-12-01T00:00:00Z"),
        // Six fields, seconds first.
        ("*/5 * * * * *", "UTC", "2026-11-25T10:00:03Z", "2026-11-25T10:00:05Z"),
        ("*/5 * * * * *", "UTC", "2026-11-25T10:00:55Z", "2026-11-25T10:01:00Z"),
        ("*/5 * * * * *", "UTC", "2026-11-25T10:00:59.500Z", "2026-11-25T10:01:00Z"),
        ("30 15 10 1 JAN *", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T10:15:30Z"),
        ("59 59 23 31 12 *", "UTC", "2026-12-31T23:59:59Z", "2027-12-31T23:59:59Z"),
        // Strictly after, and a fraction of a second.
        ("* * * * *", "UTC", "2026-11-25T10:00:00Z", "2026-11-25T10:01:00Z"),
        ("* * * * *", "UTC", "2026-11-25T10:00:00.500Z", "2026-11-25T10:01:00Z"),
        // Macros.
        ("@hourly", "UTC", "2026-11-25T10:30:00Z", "2026-11-25T11:00:00Z"),
        ("@daily", "UTC", "2026-11-25T10:30:00Z", "2026-11-26T00:00:00Z"),
        ("@midnight", "UTC", "2026-11-25T10:30:00Z", "2026-11-26T00:00:00Z"),
        ("@weekly", "UTC", "2026-11-25T10:30:00Z", "2026-11-29T00:00:00Z"),
        ("@monthly", "UTC", "2026-11-25T10:30:00Z", "2026-12-01T00:00:00Z"),
        ("@yearly", "UTC", "2026-11-25T10:30:00Z", "2027-01-01T00:00:00Z"),
        ("@ANNUALLY", "UTC", "2026-11-25T10:30:00Z", "2027-01-01T00:00:00Z"),
        ("@daily", "Europe/Berlin", "2026-11-25T10:30:00Z", "2026-11-25T23:00:00Z"),
    ]

    @Test("the next fire of each expression", arguments: cases)
    func nextFire(_ expression: String, _ zone: String, _ after: String, _ expected: String) throws {
        let schedule = try CronSchedule(cron: expression, timeZone: zone)
        #expect(Instant.text(schedule.nextFire(after: try Instant.at(after))) == expected, "\(expression) in \(zone)")
    }

    /// (description, expression, zone, after, through, limit, expected slots), instants in UTC.
    static let daylightSavingCases: [(String, String, String, String, String, Int, [String])] = [
        (
            "every 15 minutes through the fall-back hour in Berlin: each wall-clock slot once, the first occurrence",
            "*/15 * * * *", "Europe/Berlin", "2026-10-24T23:50:00Z", "2026-10-25T02:20:00Z", 50,
            [
                "2026-10-25T00:00:00Z", "2026-10-25T00:15:00Z", "2026-10-25T00:30:00Z", "2026-10-25T00:45:00Z",
                // 02:00–02:45 CET repeat 02:00–02:45 CEST: not fired again.
                "2026-10-25T02:00:00Z", "2026-10-25T02:15:00Z",
            ]
        ),
        (
            "every 15 minutes through the spring-forward gap in Berlin: the skipped slots fire once, at 03:00 CEST",
            "*/15 * * * *", "Europe/Berlin", "2026-03-29T00:40:00Z", "2026-03-29T01:20:00Z", 50,
            ["2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"]
        ),
        (
            // 05:00–06:00 UTC is 01:00–02:00 EDT; 06:00–07:00 UTC repeats 01:00–02:00 as EST: nothing fires then.
            "every second through the fall-back hour in New York: nothing fires in the repeated hour",
            "* * * * * *", "America/New_York", "2026-11-01T05:59:58Z", "2026-11-01T07:00:01Z", 10,
            ["2026-11-01T05:59:59Z", "2026-11-01T07:00:00Z", "2026-11-01T07:00:01Z"]
        ),
    ]

    @Test("the slots through a daylight-saving change", arguments: daylightSavingCases)
    func slotsThroughDaylightSavingChange(
        _ description: String, _ expression: String, _ zone: String, _ after: String, _ through: String,
        _ limit: Int, _ expected: [String]
    ) throws {
        let schedule = try CronSchedule(cron: expression, timeZone: zone)
        let slots = schedule.slots(after: try Instant.at(after), through: try Instant.at(through), limit: limit)
        #expect(slots.map(Instant.text) == expected, "\(description)")
    }

    @Test("slots are in order, strictly after the start, through the end, at most the limit")
    func slotsAreBounded() throws {
        let schedule = try CronSchedule(cron: "0 * * * *")
        let start = try Instant.at("2026-11-25T10:00:00Z")
        let all = schedule.slots(after: start, through: try Instant.at("2026-11-25T13:00:00Z"), limit: 10)
        #expect(all.map(Instant.text) == ["2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z", "2026-11-25T13:00:00Z"])
        #expect(schedule.slots(after: start, through: .distantFuture, limit: 2).count == 2)
        #expect(schedule.slots(after: start, through: start, limit: 10).isEmpty)
        #expect(schedule.slots(after: start, through: .distantFuture, limit: 0).isEmpty)
    }

    @Test("a yearly schedule with seconds and a 29 February one are found field by field, not second by second")
    func yearlySchedulesAreFast() throws {
        let yearly = try CronSchedule(cron: "30 15 10 1 JAN *", timeZone: "Europe/Berlin")
        let leap = try CronSchedule(cron: "59 59 23 29 FEB *")
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            var instant = try Instant.at("2026-01-01T00:00:00Z")
            for year in 2026..<2226 {
                let next = try #require(yearly.nextFire(after: instant))
                #expect(Instant.text(next).hasPrefix("\(year)-01-01T09:15:30Z"))
                instant = next
            }
            let slots = leap.slots(after: try Instant.at("2026-01-01T00:00:00Z"), through: .distantFuture, limit: 30)
            #expect(slots.count == 30)
            #expect(Instant.text(slots[0]) == "2028-02-29T23:59:59Z")
            #expect(Instant.text(slots[18]) == "2104-02-29T23:59:59Z")  // 2100 is not a leap year
        }
        #expect(elapsed < .seconds(10), "took \(elapsed)")  // slot by slot, it would take minutes
    }

    @Test("the latest fire at or before an instant, across the Berlin changes")
    func latestFire() throws {
        let daily = try CronSchedule(cron: "30 2 * * *", timeZone: "Europe/Berlin")
        let cases: [(String, String)] = [
            ("2026-03-29T01:00:00Z", "2026-03-29T01:00:00Z"),  // the skipped 02:30, fired at 03:00 CEST
            ("2026-03-29T00:59:59Z", "2026-03-28T01:30:00Z"),
            ("2026-10-25T01:45:00Z", "2026-10-25T00:30:00Z"),  // in the repeated hour: the first occurrence
            ("2026-10-25T00:30:00Z", "2026-10-25T00:30:00Z"),
            ("2026-11-25T10:00:00Z", "2026-11-25T01:30:00Z"),
        ]
        for (instant, expected) in cases {
            #expect(Instant.text(daily.latestFire(atOrBefore: try Instant.at(instant))) == expected, "\(instant)")
        }
        let everyMinute = try CronSchedule(cron: "* * * * *", timeZone: "Europe/Berlin")
        // 01:30 UTC is 02:30 CET, the second occurrence: the latest slot is 02:59 CEST (00:59 UTC).
        #expect(
            Instant.text(everyMinute.latestFire(atOrBefore: try Instant.at("2026-10-25T01:30:00Z")))
                == "2026-10-25T00:59:00Z")
    }

    @Test("an expression keeps its text with whitespace normalised, and equal texts are equal schedules")
    func descriptionAndEquality() throws {
        #expect(try CronExpression("  0   2 *\t* *  ").description == "0 2 * * *")
        #expect(try CronExpression("@daily").description == "@daily")
        #expect(try CronSchedule(cron: "0 2 * * *") == CronSchedule(try CronExpression("0  2 * * *")))
        #expect(try CronSchedule(cron: "0 2 * * *", timeZone: "Europe/Berlin") != CronSchedule(cron: "0 2 * * *"))
    }
}
