import Synchronization
import Tracing

/// The trace context a command or partition message carries in its AMQP headers (W3C `traceparent` with the usual
/// instruments), so that the span of whoever handles it continues the trace of the code that sent it: a partition's
/// work on another worker appears under its manager's step, a job under the `swiftbatch start` or API call that
/// asked for it.
///
/// Headers are input from anyone who can publish: only string values of at most ``maxValueLength`` bytes are read,
/// and the instrument's own parser decides the rest (an unreadable value starts a new trace).
public enum MessageTraceContext {
    /// The longest header value read as trace context.
    public static let maxValueLength = 512

    /// Writes the current task's trace context, if any, into `headers` through `instrument`.
    public static func inject(into headers: inout [String: AMQPFieldValue], using instrument: any Instrument) {
        guard let context = ServiceContext.current else { return }
        instrument.inject(context, into: &headers, using: HeadersInjector())
    }

    /// The trace context `headers` carry, read through `instrument`; `nil` when they carry none the instrument
    /// reads (so the caller falls back to its own).
    public static func extract(
        from headers: [String: AMQPFieldValue], using instrument: any Instrument
    ) -> ServiceContext? {
        var context = ServiceContext.topLevel
        let extractor = HeadersExtractor()
        instrument.extract(headers, into: &context, using: extractor)
        return extractor.found.withLock { $0 } ? context : nil
    }

    private struct HeadersInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: AMQPFieldValue]) {
            carrier[key] = .string(value)
        }
    }

    private final class HeadersExtractor: Extractor {
        /// Whether the instrument found any value it asked for.
        let found = Mutex(false)

        func extract(key: String, from carrier: [String: AMQPFieldValue]) -> String? {
            guard let value = carrier[key]?.stringValue, value.utf8.count <= MessageTraceContext.maxValueLength
            else { return nil }
            found.withLock { $0 = true }
            return value
        }
    }
}
