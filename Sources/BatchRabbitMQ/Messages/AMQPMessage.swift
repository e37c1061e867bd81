/// A message to publish, or the content of one delivered: a body and its properties.
public struct AMQPMessage: Sendable, Hashable {
    /// The body bytes.
    public var body: [UInt8]
    /// The properties (content type, headers, persistence, correlation id, ...).
    public var properties: AMQPProperties

    /// Creates a message.
    ///
    /// - Parameters:
    ///   - body: the body bytes.
    ///   - properties: the properties; persistent, without content type, by default.
    public init(body: [UInt8], properties: AMQPProperties = AMQPProperties()) {
        self.body = body
        self.properties = properties
    }

    /// Creates a message whose body is the UTF-8 bytes of `text`.
    public init(text: String, properties: AMQPProperties = AMQPProperties()) {
        self.init(body: Array(text.utf8), properties: properties)
    }
}
