import Batch

/// A message of the protocol — ``Command``, ``Event`` or ``Reply`` — that is a JSON object: it decodes strictly
/// from JSON and encodes as JSON, and these give it its message body and its `Codable` conformance.
public protocol JSONMessage: Codable, Sendable {
    /// Decodes a parsed JSON value.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    init(json: JSONValue) throws

    /// The message as JSON.
    var json: JSONValue { get }
}

extension JSONMessage {
    /// The message body: canonical JSON, UTF-8.
    public var body: [UInt8] { Array(json.canonicalJSON.utf8) }

    /// Decodes as ``init(json:)``, strictly: an ``AMQPError`` becomes a `DecodingError.dataCorrupted` with its
    /// message.
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        do { try self.init(json: value) } catch let error as AMQPError {
            throw DecodingError.invalid(error, in: decoder)
        }
    }

    /// Encodes as ``json``.
    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }
}
