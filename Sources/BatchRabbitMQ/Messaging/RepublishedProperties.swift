extension AMQPProperties {
    /// The most headers of a received message a republished copy keeps.
    public static let republishedHeaderLimit = 32
    /// The longest header name and string value (in UTF-8 bytes) a republished copy keeps.
    public static let republishedHeaderLength = 1_024

    /// The properties a worker gives a copy of a received message it republishes (to the retry or dead-letter
    /// queue, or back from it): whoever published the message chose every property, so the copy keeps only what
    /// describes it and is bounded.
    ///
    /// - Kept: content type and encoding, correlation and message ids, reply-to, timestamp, type, app id, priority,
    ///   and up to ``republishedHeaderLimit`` headers that are strings, numbers, booleans or timestamps, names and
    ///   strings at most ``republishedHeaderLength`` bytes: the `x-batch-*` ones and the W3C trace context
    ///   (`traceparent`, `tracestate`, `baggage`) first, then the others by name.
    /// - Dropped: `user-id` (the broker refuses a copy that names another user, which would close the publish
    ///   channel), `expiration` (a dead letter would silently expire), nested tables and arrays (`CC` and `BCC`
    ///   would copy the message into other queues; the broker's own `x-death` record goes too), and anything
    ///   larger: the copy's header frame always fits, whatever the original carried.
    func republishable() -> AMQPProperties {
        var copy = AMQPProperties()
        copy.contentType = contentType
        copy.contentEncoding = contentEncoding
        copy.correlationID = correlationID
        copy.replyTo = replyTo
        copy.messageID = messageID
        copy.timestamp = timestamp
        copy.type = type
        copy.appID = appID
        copy.priority = priority
        copy.persistent = persistent
        let ordered = headers.sorted {
            ($0.key.isPreferredInCopies ? 0 : 1, $0.key) < ($1.key.isPreferredInCopies ? 0 : 1, $1.key)
        }
        for (name, value) in ordered {
            guard copy.headers.count < Self.republishedHeaderLimit else { break }
            guard name.utf8.count <= Self.republishedHeaderLength, Self.isKeptInCopies(value) else { continue }
            copy.headers[name] = value
        }
        return copy
    }

    private static func isKeptInCopies(_ value: AMQPFieldValue) -> Bool {
        switch value {
        case .string(let text): return text.utf8.count <= republishedHeaderLength
        case .int, .bool, .double, .timestamp: return true
        case .table, .array: return false
        }
    }
}

extension String {
    /// A header a republished copy keeps before any other: the worker's own, and the trace context.
    fileprivate var isPreferredInCopies: Bool {
        hasPrefix("x-batch-") || self == "traceparent" || self == "tracestate" || self == "baggage"
    }
}
