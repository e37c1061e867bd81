/// A value in an AMQP field table (message headers, queue arguments).
///
/// Only the kinds this module sends or reads are kept apart; others read from the wire become ``string(_:)`` of
/// their bytes (byte arrays) or are left out (decimals, void).
public enum AMQPFieldValue: Sendable, Hashable {
    /// A UTF-8 string (`S`).
    case string(String)
    /// A signed integer (`l`; narrower integers read from the wire become this too).
    case int(Int64)
    /// A boolean (`t`).
    case bool(Bool)
    /// A floating-point number (`d`).
    case double(Double)
    /// A nested table (`F`), as in the `x-death` header.
    case table([String: AMQPFieldValue])
    /// An array (`A`).
    case array([AMQPFieldValue])
    /// A timestamp in seconds since 1970 (`T`).
    case timestamp(UInt64)

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, if this is an integer.
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }
}

extension AMQPFieldValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    /// Creates a string value.
    public init(stringLiteral value: String) { self = .string(value) }
    /// Creates an integer value.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// Creates a boolean value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
