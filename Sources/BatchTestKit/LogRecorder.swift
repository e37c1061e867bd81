import Logging
import Synchronization

/// Keeps every line (level, message and metadata, the handler's and the call's) logged through its ``logger``, for
/// a test to look at.
public final class LogRecorder: Sendable {
    /// One recorded line.
    public struct Line: Sendable {
        /// Its level.
        public var level: Logger.Level
        /// Its message.
        public var message: String
        /// The logger's metadata merged with the call's (the call's wins), as text.
        public var metadata: [String: String]

        /// The message and the metadata values in one text, for "never shows the password" checks.
        public var text: String {
            ([message] + metadata.keys.sorted().map { "\($0)=\(metadata[$0]!)" }).joined(separator: " ")
        }
    }

    private let recorded = Mutex<[Line]>([])

    /// Creates an empty recorder.
    public init() {}

    /// Everything logged so far.
    public var lines: [Line] { recorded.withLock { $0 } }

    /// A logger at `trace` level writing here.
    public var logger: Logger {
        Logger(label: "batch.tests.recorded") { _ in Handler(recorder: self) }
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
                Line(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
