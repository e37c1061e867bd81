/// AMQP's short strings — exchange and queue names, routing keys, header names, most message properties — hold at
/// most 255 bytes. librabbitmq refuses to encode a longer one as a library error, which the connection cannot tell
/// from a broken socket: every such value is checked before it reaches the connection's thread.
enum AMQPShortString {
    /// The most bytes a short string holds.
    static let maxLength = 255

    /// Throws ``AMQPError/Code/invalidArgument`` when `value` is longer than a short string may be.
    static func check(_ value: String, _ what: String) throws {
        let length = value.utf8.count
        guard length <= maxLength else {
            throw AMQPError(
                .invalidArgument,
                "the \(what) '\(value.prefix(40))…' is \(length) bytes; AMQP allows at most \(maxLength)")
        }
    }

    /// Checks the short strings of a message's properties and the names of its headers (nested tables included).
    static func check(_ properties: AMQPProperties) throws {
        let fields: [(String?, String)] = [
            (properties.contentType, "content type"), (properties.contentEncoding, "content encoding"),
            (properties.correlationID, "correlation id"), (properties.replyTo, "reply-to"),
            (properties.expiration, "expiration"), (properties.messageID, "message id"), (properties.type, "type"),
            (properties.userID, "user id"), (properties.appID, "app id"),
        ]
        for case (let value?, let what) in fields { try check(value, what) }
        try check(headers: properties.headers)
    }

    /// Checks the names in a field table, and in the tables and arrays it holds.
    static func check(headers: [String: AMQPFieldValue]) throws {
        for (name, value) in headers {
            try check(name, "header name")
            try check(value)
        }
    }

    /// Checks the names a declaration sends.
    static func check(_ declaration: AMQPDeclaration) throws {
        switch declaration {
        case .exchange(let name, _, _, _, let arguments):
            try check(name, "exchange name")
            try check(headers: arguments)
        case .queue(let name, _, _, _, let arguments):
            try check(name, "queue name")
            try check(headers: arguments)
        case .binding(let queue, let exchange, let routingKey, let arguments):
            try check(queue, "queue name")
            try check(exchange, "exchange name")
            try check(routingKey, "routing key")
            try check(headers: arguments)
        }
    }

    private static func check(_ value: AMQPFieldValue) throws {
        switch value {
        case .table(let table): try check(headers: table)
        case .array(let values): for value in values { try check(value) }
        default: break
        }
    }
}
