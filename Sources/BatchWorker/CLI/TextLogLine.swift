import Foundation
import Logging
import Synchronization

/// A text log line on standard error, exactly as swift-log's `StreamLogHandler` writes it —
/// `2026-12-01T18:13:32+0000 info swiftbatch: job.name=hello worker.id=... [Batch] job COMPLETED` — for less: the
/// local time is formatted once a second (`StreamLogHandler` calls `localtime`, which looks at `/etc/localtime` again
/// for every line), and the logger's own metadata once when it changes.
enum TextLogLine {
    /// The second last formatted and its text.
    private static let clock = Mutex<(second: time_t, text: String)>((-1, ""))

    /// Writes one line for `event`.
    static func write(
        _ event: LogEvent, label: String, handlerMetadata: Logger.Metadata, prettyMetadata: String?,
        provider: Logger.MetadataProvider?
    ) {
        let provided = provider?.get() ?? [:]
        var pretty = prettyMetadata
        if !provided.isEmpty || !(event.metadata ?? [:]).isEmpty || event.error != nil {
            var metadata = handlerMetadata
            if !provided.isEmpty { metadata.merge(provided) { _, provided in provided } }
            if let explicit = event.metadata, !explicit.isEmpty {
                metadata.merge(explicit) { _, explicit in explicit }
            }
            if let error = event.error {
                metadata["error.message"] = "\(error)"
                metadata["error.type"] = "\(String(reflecting: type(of: error)))"
            }
            pretty = prettify(metadata)
        }
        var text = line(event, label: label, prettyMetadata: pretty)
        text.withUTF8 { bytes in
            writing.withLock { _ in
                var offset = 0
                while offset < bytes.count {
                    let written = Foundation.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        return  // standard error is gone: nothing to tell
                    }
                }
            }
        }
    }

    /// The line for `event`, its message with control characters escaped (``ExecutionFormatter/printable(_:)``), so
    /// that what a message quotes (a job name from a command, an exit message) cannot forge a line or move the
    /// terminal's cursor.
    static func line(_ event: LogEvent, label: String, prettyMetadata pretty: String?) -> String {
        "\(timestamp()) \(event.level)\(label.isEmpty ? "" : " ")\(label):\(pretty.map { " \($0)" } ?? "") "
            + "[\(event.source)] \(ExecutionFormatter.printable("\(event.message)"))\n"
    }

    /// Held while a line is written, so lines from different threads never interleave.
    private static let writing = Mutex(())

    /// The metadata as `key=value` pairs sorted by key, or nil when there is none.
    static func prettify(_ metadata: Logger.Metadata) -> String? {
        guard !metadata.isEmpty else { return nil }
        return ExecutionFormatter.printable(
            metadata.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " "))
    }

    /// The local time to the second, `2026-12-01T18:13:32+0000`.
    static func timestamp() -> String {
        var now = time(nil)
        if let cached = clock.withLock({ $0.second == now ? $0.text : nil }) { return cached }
        var parts = tm()
        guard localtime_r(&now, &parts) != nil else { return "<unknown>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        let text = buffer.withUnsafeBytes { String(decoding: $0.prefix(length), as: UTF8.self) }
        clock.withLock { $0 = (now, text) }
        return text
    }
}
