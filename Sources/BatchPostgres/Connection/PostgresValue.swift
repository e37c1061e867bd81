import Batch
import Foundation

/// A statement parameter. Values always travel separately from the SQL text (through `PQexecParams`); none is ever
/// pasted into a statement.
///
/// Literals work: `try await connection.query("SELECT $1::int8 + $2", [1, 2])`. A `nil` in the parameter array is
/// SQL `NULL`.
public enum PostgresValue: Sendable, Hashable {
    /// Text (`text`, `varchar`, or whatever the server infers). PostgreSQL text cannot hold U+0000.
    case text(String)
    /// An `int8` (it converts to smaller integer columns on assignment).
    case int(Int64)
    /// A `float8`.
    case double(Double)
    /// A `bool`.
    case bool(Bool)
    /// A `timestamptz`, to the microsecond.
    case timestamp(Date)
    /// A `jsonb` value, sent as its canonical JSON text.
    case json(JSONValue)
    /// A `bytea`: any bytes, including NUL and invalid UTF-8.
    case bytes([UInt8])
    /// A `numeric`, exact to `Decimal`'s 38 digits (sent as its decimal text).
    case decimal(Decimal)
    /// A `date`: a calendar day.
    case date(CalendarDay)
    /// A `uuid`.
    case uuid(UUID)

    /// The type OID sent with the parameter; 0 lets the server infer the type from the statement.
    var typeOID: UInt32 {
        switch self {
        case .text: 0
        case .int: PostgresTypeOID.int8
        case .double: PostgresTypeOID.float8
        case .bool: PostgresTypeOID.bool
        case .timestamp: PostgresTypeOID.timestamptz
        case .json: PostgresTypeOID.jsonb
        case .bytes: PostgresTypeOID.bytea
        case .decimal: PostgresTypeOID.numeric
        case .date: PostgresTypeOID.date
        case .uuid: PostgresTypeOID.uuid
        }
    }

    /// The value in PostgreSQL's text input format.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidParameter`` for text holding NUL.
    func textEncoding(position: Int) throws -> String {
        switch self {
        case .text(let value):
            guard !value.utf8.contains(0) else {
                throw PostgresError(
                    .invalidParameter,
                    "parameter $\(position) contains a NUL character (U+0000), which PostgreSQL text cannot store; "
                        + "send the bytes as .bytes (bytea) or remove the NUL")
            }
            return value
        case .int(let value): return String(value)
        case .double(let value):
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
            return "\(value)"
        case .bool(let value): return value ? "true" : "false"
        case .timestamp(let value): return PostgresTimestamp.format(value)
        case .json(let value):
            let text = value.canonicalJSON
            guard !Self.containsEscapedNUL(text) else {
                throw PostgresError(
                    .invalidParameter,
                    "parameter $\(position) is JSON holding a NUL character (\\u0000), which jsonb cannot store")
            }
            return text
        case .bytes(let value):
            let digits = Array("0123456789abcdef".utf8)
            var hex = [UInt8]()
            hex.reserveCapacity(2 + value.count * 2)
            hex.append(UInt8(ascii: "\\"))
            hex.append(UInt8(ascii: "x"))
            for byte in value {
                hex.append(digits[Int(byte >> 4)])
                hex.append(digits[Int(byte & 0x0f)])
            }
            return String(decoding: hex, as: UTF8.self)
        case .decimal(let value):
            // `Decimal`'s description is locale-independent: digits, an optional '-' and '.', or "NaN".
            return value.description
        case .date(let value): return value.description
        case .uuid(let value): return value.uuidString
        }
    }

    /// Whether JSON text holds the escape `\u0000` (a NUL character), found byte by byte (Foundation's substring
    /// search costs more than the encoding itself). Escapes are followed from backslash to backslash, so the text of
    /// a backslash followed by `u0000` (`\\u0000` in the JSON) is not taken for one.
    static func containsEscapedNUL(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                guard bytes[index] == UInt8(ascii: "\\") else {
                    index += 1
                    continue
                }
                // An escape: `\u` and four hex digits, or a backslash and one character.
                if index + 5 < bytes.count, bytes[index + 1] == UInt8(ascii: "u"),
                    bytes[index + 2] == UInt8(ascii: "0"), bytes[index + 3] == UInt8(ascii: "0"),
                    bytes[index + 4] == UInt8(ascii: "0"), bytes[index + 5] == UInt8(ascii: "0")
                {
                    return true
                }
                index += 2
            }
            return false
        }
    }
}

extension PostgresValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral
{
    /// Creates `.text`.
    public init(stringLiteral value: String) { self = .text(value) }
    /// Creates `.int`.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// Creates `.double`.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// Creates `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension PostgresValue {
    /// An `int8` from an `Int`.
    public static func int(_ value: Int) -> PostgresValue { .int(Int64(value)) }
}

/// The type OIDs the framework sends and decodes (from `pg_type`; fixed across PostgreSQL versions).
enum PostgresTypeOID {
    static let bool: UInt32 = 16
    static let bytea: UInt32 = 17
    static let int8: UInt32 = 20
    static let int2: UInt32 = 21
    static let int4: UInt32 = 23
    static let text: UInt32 = 25
    static let oid: UInt32 = 26
    static let json: UInt32 = 114
    static let float4: UInt32 = 700
    static let float8: UInt32 = 701
    static let varchar: UInt32 = 1043
    static let timestamp: UInt32 = 1114
    static let date: UInt32 = 1082
    static let timestamptz: UInt32 = 1184
    static let numeric: UInt32 = 1700
    static let uuid: UInt32 = 2950
    static let jsonb: UInt32 = 3802
}
