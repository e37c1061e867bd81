import Batch
import Foundation
import Logging

/// How the process writes its logs: swift-log's text lines, or one JSON object per line for log shippers
/// (`--log-format json`).
enum LogFormat: String, CaseIterable, Sendable {
    /// `2026-11-25T10:00:00+0000 info swiftbatch: job.name=hello [Batch] job COMPLETED`.
    case text
    /// `{"time":"2026-11-25T10:00:00.123Z","level":"info","label":"swiftbatch","message":"job COMPLETED",
    /// "metadata":{"job.name":"hello",...},"source":"Batch"}`.
    case json
}

/// Writes one log event as a JSON object on one line to standard error. Metadata values are strings, arrays and
/// objects as swift-log gives them; URLs in them were already redacted where they were logged (passwords never
/// reach a log line).
enum JSONLogLine {
    private static let lock = NSLock()

    static func write(
        _ event: LogEvent, label: String, handlerMetadata: Logger.Metadata, provider: Logger.MetadataProvider?
    ) {
        var metadata = handlerMetadata
        if let provided = provider?.get() { metadata.merge(provided) { _, new in new } }
        if let own = event.metadata { metadata.merge(own) { _, new in new } }
        var object: [String: JSONValue] = [
            "time": .string(Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
            "level": .string(event.level.rawValue), "label": .string(label),
            "message": .string(event.message.description), "source": .string(event.source),
        ]
        if !metadata.isEmpty { object["metadata"] = .object(metadata.mapValues(json)) }
        if let error = event.error { object["error"] = .string(error.batchDescription) }
        let line = Array((JSONValue.object(object).canonicalJSON + "\n").utf8)
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data(line))
    }

    private static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let values): .object(values.mapValues(json))
        }
    }
}
