import Logging
import Synchronization

/// A log handler that keeps every line (level, message and metadata) for a test to look at.
final class LogRecorder: Sendable {
    /// One recorded line.
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]

        /// The message and the metadata values in one text, for "never shows the password" checks.
        var text: String {
            ([message] + metadata.keys.sorted().map { "\($0)=\(metadata[$0]!)" }).joined(separator: " ")
        }
    }

    private let recorded = Mutex<[Line]>([])

    /// Everything logged so far.
    var lines: [Line] { recorded.withLock { $0 } }

    /// A logger at `trace` level writing here.
    var logger: Logger {
        Logger(label: "batch.postgres.tests.recorded") { _ in Handler(recorder: self) }
    }

    fileprivate func append(_ line: Line) { recorded.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorder.append(
                Line(
                    level: event.level, message: "\(event.message)",
                    metadata: merged.mapValues { "\($0)" }))
        }
    }
}
