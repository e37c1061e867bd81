import Batch
import Foundation
import Testing

/// Parsing refuses what is not a valid expression, with a message that names the field and says why.
@Suite("Scheduling: cron expression parse errors")
struct SchedulingParseErrorTests {
    /// (expression, a fragment of the message).
    static let errors: [(String, String)] = [
        ("61 * * * *", "minute field: 61 is out of range 0–59"),
        ("* 24 * * *", "hour field: 24 is out of range 0–23"),
        ("* * 0 * *", "day-of-month field: 0 is out of range 1–31"),
        ("* * 32 * *", "day-of-month field: 32 is out of range 1–31"),
        ("* * * 13 *", "month field: 13 is out of range 1–12"),
        ("* * * * 8", "day-of-week field: 8 is out of range 0–7"),
        ("60 * * * * *", "second field: 60 is out of range 0–59"),
        ("0 60 * * * *", "minute field: 60 is out of range 0–59"),
        ("* * * FOO *", "month field: 'FOO' is neither a number 1–12 nor a month name JAN–DEC"),
        ("* * * * FRU", "day-of-week field: 'FRU' is neither a number 0–7 nor a day name SUN–SAT"),
        ("JAN * * * *", "minute field: 'JAN' is not a number 0–59"),
        ("*/0 * * * *", "minute field: step 0 in '*/0' is out of range 1–60"),
        ("*/a * * * *", "minute field: step 'a' in '*/a' is not a number"),
        ("1/2/3 * * * *", "minute field: '1/2/3' has more than one step"),
        ("5-2 * * * *", "minute field: range 5-2 is reversed"),
        ("* 1-2-3 * * *", "hour field: '1-2-3' is not a value or a range"),
        ("1,,2 * * * *", "minute field: empty item in the list '1,,2'"),
        ("-5 * * * *", "minute field: '-5' is missing a value"),
        ("0 0 L * *", "day-of-month field: 'L' is not supported"),
        ("0 0 ? * MON", "day-of-month field: '?' is not supported"),
        ("0 0 * * 5#3", "day-of-week field: '5#3' is not supported"),
        ("0 0 30 2 *", "day-of-month field: day 30 never occurs in FEB"),
        ("0 0 31 4,6,9,11 *", "day-of-month field: day 31 never occurs in APR,JUN,SEP,NOV"),
        ("99999999999999999999 * * * *", "minute field: 99999999999999999999 is out of range 0–59"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 4"),
        ("* * * * * * *", "got 7"),
        ("", "got 0"),
        ("@often", "unknown macro; use @hourly, @daily, @weekly, @monthly or @yearly"),
        ("@daily 5", "got 2"),
        ("0 2 * * *\n* * * * *", "it must be on one line"),
    ]

    @Test("each invalid expression is refused, naming the field and why", arguments: errors)
    func refused(_ text: String, _ fragment: String) {
        do {
            let expression = try CronExpression(text)
            Issue.record("'\(text)' parsed as '\(expression)'")
        } catch let error as BatchError {
            #expect(error.code == .invalidSchedule)
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(error.message.hasPrefix("invalid cron expression '"), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test(
        "valid expressions parse",
        arguments: [
            "0 0 29 2 *", "0 0 30 2 5", "0 0 * * 5-7", "0 0 * * 0,7", "0 0 1-31/2 * *", "*/60 * * * *",
            "0 0 * jan-mar sun", "59 59 23 31 12 *", "@hourly", "@WEEKLY", "0 0 31 1-12 *",
        ])
    func accepted(_ text: String) throws {
        _ = try CronExpression(text)
    }

    @Test("an unknown time zone is refused, naming it")
    func unknownZone() {
        #expect {
            try CronSchedule(cron: "* * * * *", timeZone: "Mars/Olympus")
        } throws: { error in
            guard let error = error as? BatchError else { return false }
            return error.code == .invalidSchedule && error.message.contains("unknown time zone 'Mars/Olympus'")
        }
    }
}
