import Batch
import Foundation
import Logging
import Testing

@testable import BatchWorker

@Suite("Progress line")
struct ProgressLineTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func report(done: Int64? = nil, total: Int64? = nil, endIn seconds: Double? = nil) -> StepProgress {
        StepProgress(
            executionId: 42, jobName: "daily", stepName: "post-entries", stepExecutionId: 7, read: 1_234_567,
            write: 1_234_000, skip: 3, itemsPerSecond: 48_210.4, done: done, total: total,
            estimatedEnd: seconds.map { now.addingTimeInterval($0) }, time: now)
    }

    @Test("on a terminal: a bar, the percentage and the time left when the size is known")
    func bar() {
        let line = ProgressLine.render(Self.report(done: 25, total: 100, endIn: 125), now: Self.now, barWidth: 20)
        #expect(
            line
                == "  post-entries  [#####---------------]   25%  read 1,234,567  write 1,234,000  skip 3  48,210/s  eta 2m05s"
        )
    }

    @Test("without a known size: counts and pace only, no bar")
    func noBar() {
        let line = ProgressLine.render(Self.report(), now: Self.now)
        #expect(!line.contains("["))
        #expect(!line.contains("eta"))
        #expect(line.contains("read 1,234,567") && line.contains("48,210/s"))
    }

    @Test("not on a terminal: one plain line per report, no escape codes")
    func plain() {
        let line = ProgressLine.plain(Self.report(done: 99, total: 100, endIn: 3_725), now: Self.now)
        #expect(line == "  post-entries: read 1234567 write 1234000 skip 3 (48210/s)  99% eta 1h02m")
        #expect(!line.contains("\u{1B}"))
    }

    @Test("numbers are grouped by thousands, an estimate already past shows 0s")
    func formatting() {
        #expect(ProgressLine.grouped(0) == "0")
        #expect(ProgressLine.grouped(999) == "999")
        #expect(ProgressLine.grouped(1_000) == "1,000")
        #expect(ProgressLine.grouped(-12_345_678) == "-12,345,678")
        #expect(ProgressLine.remaining(Self.report(done: 1, total: 2, endIn: -5), now: Self.now) == "0s")
    }

    @Test("a hostile report (a rate beyond Int64, escapes in the step name) prints safely instead of trapping")
    func hostileReport() {
        var report = Self.report(done: 1, total: 2, endIn: 5)
        report.itemsPerSecond = 1e19
        report.stepName = "post\u{1B}[2J\nfake"
        let line = ProgressLine.render(report, now: Self.now)
        #expect(line.contains("9,000,000,000,000,000,000/s"), "\(line)")
        #expect(line.contains("post\\u{1B}[2J\\u{A}fake") && !line.contains("\u{1B}"), "\(line)")
        #expect(!ProgressLine.plain(report, now: Self.now).contains("\n"))
    }

    @Test("a text log line escapes control characters in its message and metadata: one line, no forged ones")
    func logLinesCannotBeForged() {
        let event = LogEvent(
            level: .warning, message: "dead-lettering job 'x\n2026-01-01T00:00:00+0000 info swiftbatch: job COMPLETED'",
            metadata: nil, source: "BatchWorker", file: #fileID, function: #function, line: #line)
        let pretty = TextLogLine.prettify(["reason": "a\u{1B}[31mred"])
        let line = TextLogLine.line(event, label: "swiftbatch", prettyMetadata: pretty)
        #expect(line.filter { $0 == "\n" }.count == 1 && line.hasSuffix("\n"), "\(line)")
        #expect(line.contains("x\\u{A}2026-01-01") && line.contains("reason=a\\u{1B}[31mred"), "\(line)")
    }
}
