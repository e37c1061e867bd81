/// State a job or step keeps between chunks and across restarts: a JSON object, stored as `jsonb`.
///
/// Readers and writers save their position here at every chunk commit; a restarted step gets the context of
/// its last committed chunk back.
/// ```swift
/// context["reader.offset"] = .int(1_000)
/// let offset = context.int("reader.offset") ?? 0
/// ```
public struct ExecutionContext: Sendable, Hashable, Codable {
    /// The entries by key.
    public var values: [String: JSONValue]

    /// Creates a context.
    public init(_ values: [String: JSONValue] = [:]) {
        self.values = values
    }

    /// Decodes a JSON object.
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        guard let members = value.objectValue else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "an execution context must be a JSON object"))
        }
        self.values = members
    }

    /// Encodes the context as a JSON object.
    public func encode(to encoder: any Encoder) throws {
        try JSONValue.object(values).encode(to: encoder)
    }

    /// The entry for `key`, or nil.
    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// Whether the context holds nothing.
    public var isEmpty: Bool { values.isEmpty }

    /// The integer at `key`, or nil when it is absent or not an integer.
    public func int(_ key: String) -> Int? { values[key]?.intValue.flatMap { Int(exactly: $0) } }

    /// The string at `key`, or nil when it is absent or not a string.
    public func string(_ key: String) -> String? { values[key]?.stringValue }

    /// The number at `key`, or nil when it is absent or not a number.
    public func double(_ key: String) -> Double? { values[key]?.doubleValue }

    /// The boolean at `key`, or nil when it is absent or not a boolean.
    public func bool(_ key: String) -> Bool? { values[key]?.boolValue }

    /// Adds every entry of `other`, replacing entries with the same key.
    public mutating func merge(_ other: ExecutionContext) {
        values.merge(other.values) { _, new in new }
    }

    /// The context as a JSON object value.
    public var jsonValue: JSONValue { .object(values) }
}
