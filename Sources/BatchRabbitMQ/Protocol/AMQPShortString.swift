/// AMQP's short strings — exchange and queue names, routing keys, header names, most message properties — hold at
/// most 255 bytes. librabbitmq refuses to encode a longer one as a library error, which the connection cannot tell
/// from a broken socket: every such value is checked before it reaches librabbitmq.
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

    /// ``check(_:_:)`` of a value that may be absent.
    private static func check(_ value: String?, _ what: String) throws {
        if let value { try check(value, what) }
    }

    /// Checks a publish: its exchange and routing key, the short strings of its properties and the names of its
    /// headers (nested tables included).
    static func check(_ publish: PendingPublish) throws {
        try check(publish.exchange, "exchange name")
        try check(publish.routingKey, "routing key")
        let properties = publish.message.properties
        try check(properties.contentType, "content type")
        try check(properties.contentEncoding, "content encoding")
        try check(properties.correlationID, "correlation id")
        try check(properties.replyTo, "reply-to")
        try check(properties.expiration, "expiration")
        try check(properties.messageID, "message id")
        try check(properties.type, "type")
        try check(properties.userID, "user id")
        try check(properties.appID, "app id")
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
