/// The basic properties of an AMQP message.
///
/// Messages are persistent (delivery mode 2) unless ``persistent`` is set to `false`.
public struct AMQPProperties: Sendable, Hashable {
    /// The MIME type of the body, for example `application/json`.
    public var contentType: String?
    /// The encoding of the body, for example `gzip`.
    public var contentEncoding: String?
    /// Application headers.
    public var headers: [String: AMQPFieldValue]
    /// Whether the broker writes the message to disk (delivery mode 2). Default `true`.
    public var persistent: Bool
    /// The priority, 0...9, for priority queues.
    public var priority: UInt8?
    /// Ties a reply to its request.
    public var correlationID: String?
    /// The queue a reply should be sent to.
    public var replyTo: String?
    /// A per-message time to live in milliseconds, as text.
    public var expiration: String?
    /// An application message identifier.
    public var messageID: String?
    /// When the message was sent, in seconds since 1970.
    public var timestamp: UInt64?
    /// An application message type name.
    public var type: String?
    /// The user that published, checked by the broker when set.
    public var userID: String?
    /// The publishing application.
    public var appID: String?

    /// Creates properties.
    public init(
        contentType: String? = nil, contentEncoding: String? = nil, headers: [String: AMQPFieldValue] = [:],
        persistent: Bool = true, priority: UInt8? = nil, correlationID: String? = nil, replyTo: String? = nil,
        expiration: String? = nil, messageID: String? = nil, timestamp: UInt64? = nil, type: String? = nil,
        userID: String? = nil, appID: String? = nil
    ) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.headers = headers
        self.persistent = persistent
        self.priority = priority
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageID = messageID
        self.timestamp = timestamp
        self.type = type
        self.userID = userID
        self.appID = appID
    }
}
