import Batch
import Foundation
import Synchronization

/// How `start --wait`, `restart --wait` and `execution ID --follow` show a running execution: status changes as
/// lines of their own, and progress as one live line redrawn in place (with a bar when the reader knows its size)
/// on a terminal, or as plain lines, one per report, when the output is not a terminal (a log, a pipe).
final class ProgressLine: Sendable {
    /// Whether the output is a terminal (then the live line is redrawn in place).
    let isTerminal: Bool
    private let state = Mutex<State>(State())

    private struct State {
        /// Whether a live line is on screen, to be cleared before the next permanent line.
        var liveShown = false
        /// When the last progress report arrived: database counts do not overwrite a fresher report.
        var lastProgress: ContinuousClock.Instant?
    }

    /// A display writing to standard output; `isTerminal` defaults to whether standard output is one.
    init(isTerminal: Bool = isatty(STDOUT_FILENO) != 0) {
        self.isTerminal = isTerminal
    }

    /// Prints a line that stays (a status change, the exit message).
    func line(_ text: String) {
        state.withLock { state in
            write((state.liveShown ? Self.clear : "") + text + "\n")
            state.liveShown = false
        }
    }

    /// Shows a progress report: redrawn in place on a terminal, a plain line otherwise.
    func progress(_ progress: StepProgress, now: Date = Date()) {
        state.withLock { state in
            state.lastProgress = .now
            if isTerminal {
                write("\r" + Self.render(progress, now: now) + Self.clearToEnd)
                state.liveShown = true
            } else {
                write(Self.plain(progress, now: now) + "\n")
            }
        }
    }

    /// Shows counts read from the database, unless a progress report arrived in the last two seconds (it is
    /// fresher): in place on a terminal, a plain line otherwise.
    func counts(_ text: String) {
        state.withLock { state in
            if let last = state.lastProgress, ContinuousClock.now - last < .seconds(2) { return }
            if isTerminal {
                write("\r  " + text + Self.clearToEnd)
                state.liveShown = true
            } else {
                write("  " + text + "\n")
            }
        }
    }

    /// Ends the live line, if one is shown.
    func finish() {
        state.withLock { state in
            if state.liveShown { write("\n") }
            state.liveShown = false
        }
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    private static let clear = "\r\u{1B}[K"
    private static let clearToEnd = "\u{1B}[K"

    /// The live line: `post-entries [#######-------------]  35%  read 120,000  write 119,000  48,210/s  eta 12s`
    /// (the bar, percentage and estimate only when the reader knows its size).
    static func render(_ progress: StepProgress, now: Date = Date(), barWidth: Int = 24) -> String {
        var parts = [ExecutionFormatter.printable(progress.stepName)]
        if let fraction = progress.fraction {
            let filled = min(barWidth, Int((fraction * Double(barWidth)).rounded(.down)))
            parts.append(
                "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]")
            parts.append(percent(fraction))
        }
        parts.append("read \(grouped(progress.read))")
        parts.append("write \(grouped(progress.write))")
        if progress.skip > 0 { parts.append("skip \(grouped(progress.skip))") }
        parts.append("\(grouped(rate(progress)))/s")
        if let eta = remaining(progress, now: now) { parts.append("eta \(eta)") }
        return "  " + parts.joined(separator: "  ")
    }

    /// The plain line: `  post-entries: read 120000 write 119000 (48210/s) 35% eta 12s`.
    static func plain(_ progress: StepProgress, now: Date = Date()) -> String {
        var text = "  \(ExecutionFormatter.printable(progress.stepName)): read \(progress.read) write \(progress.write)"
        if progress.skip > 0 { text += " skip \(progress.skip)" }
        text += " (\(rate(progress))/s)"
        if let fraction = progress.fraction { text += " " + percent(fraction) }
        if let eta = remaining(progress, now: now) { text += " eta \(eta)" }
        return text
    }

    /// Items per second, whole: whatever a report carried (any finite number, from anyone who may publish on the
    /// events exchange) within `Int64`.
    static func rate(_ progress: StepProgress) -> Int64 {
        let value = progress.itemsPerSecond.rounded()
        guard value.isFinite else { return 0 }
        return Int64(max(-9.0e18, min(9.0e18, value)))
    }

    private static func percent(_ fraction: Double) -> String {
        let value = Int((fraction * 100).rounded(.down))
        return String(repeating: " ", count: max(0, 3 - String(value).count)) + "\(value)%"
    }

    /// `1h02m`, `4m05s`, `12s`: the time left until the estimated end.
    static func remaining(_ progress: StepProgress, now: Date) -> String? {
        guard let end = progress.estimatedEnd else { return nil }
        let seconds = max(0, Int(end.timeIntervalSince(now).rounded()))
        if seconds >= 3600 { return "\(seconds / 3600)h" + pad(seconds % 3600 / 60) + "m" }
        if seconds >= 60 { return "\(seconds / 60)m" + pad(seconds % 60) + "s" }
        return "\(seconds)s"
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// `1,234,567`.
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }
}
