import Batch
import Foundation

/// A Swift type a result column can be decoded into, from PostgreSQL's text output format.
public protocol PostgresDecodable: Sendable {
    /// Decodes a value.
    ///
    /// - Parameters:
    ///   - text: the column's text, or nil for `NULL`.
    ///   - typeOID: the column's type.
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/decoding``.
    init(postgresText text: String?, typeOID: UInt32) throws
}

extension PostgresDecodable {
    static func nonNull(_ text: String?) throws -> String {
        guard let text else { throw PostgresError(.decoding, "is NULL but \(Self.self) is not optional") }
        return text
    }

    static func mismatch(_ text: String) -> PostgresError {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return PostgresError(.decoding, "'\(shown)' is not a valid \(Self.self)")
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    /// Decodes `NULL` as nil, anything else as the wrapped type.
    public init(postgresText text: String?, typeOID: UInt32) throws {
        guard let text else {
            self = .none
            return
        }
        self = .some(try Wrapped(postgresText: text, typeOID: typeOID))
    }
}

extension String: PostgresDecodable {
    /// The text as it is.
    public init(postgresText text: String?, typeOID: UInt32) throws {
        self = try Self.nonNull(text)
    }
}

extension PostgresDecodable where Self: LosslessStringConvertible {
    /// The value a non-NULL text column holds, parsed with the type's own initialiser.
    static func parsed(_ text: String?) throws -> Self {
        let text = try nonNull(text)
        guard let value = Self(text) else { throw mismatch(text) }
        return value
    }
}

extension Int64: PostgresDecodable {
    /// An integer column (`int2`, `int4`, `int8`, or a `numeric` without fraction).
    public init(postgresText text: String?, typeOID: UInt32) throws {
        self = try Self.parsed(text)
    }
}

extension Int: PostgresDecodable {
    /// An integer column.
    public init(postgresText text: String?, typeOID: UInt32) throws {
        self = try Self.parsed(text)
    }
}

extension Int32: PostgresDecodable {
    /// An integer column that fits in 32 bits.
    public init(postgresText text: String?, typeOID: UInt32) throws {
        self = try Self.parsed(text)
    }
}

extension Double: PostgresDecodable {
    /// A `float8`, `float4` or `numeric` column (`NaN`, `Infinity` and `-Infinity` included).
    public init(postgresText text: String?, typeOID: UInt32) throws {
        self = try Self.parsed(text)
    }
}

extension Bool: PostgresDecodable {
    /// A `bool` column (`t` / `f`).
    public init(postgresText text: String?, typeOID: UInt32) throws {
        switch try Self.nonNull(text) {
        case "t", "true": self = true
        case "f", "false": self = false
        case let other: throw Self.mismatch(other)
        }
    }
}

extension Date: PostgresDecodable {
    /// A `timestamptz` column (to the microsecond); `infinity` is `distantFuture`, `-infinity` `distantPast`.
    public init(postgresText text: String?, typeOID: UInt32) throws {
        let text = try Self.nonNull(text)
        guard let value = PostgresTimestamp.parse(text) else { throw Self.mismatch(text) }
        self = value
    }
}

extension JSONValue: PostgresDecodable {
    /// A `json` or `jsonb` column.
    public init(postgresText text: String?, typeOID: UInt32) throws {
        let text = try Self.nonNull(text)
        do {
            // jsonb prints a double written as 1e+20 in full (100000000000000000000): read it back as a double.
            self = try JSONValue(parsing: text, largeIntegers: .nearestDouble)
        } catch {
            throw PostgresError(.decoding, "is not valid JSON: \(error.batchDescription)")
        }
    }
}

extension Array: PostgresDecodable where Element == UInt8 {
    /// A `bytea` column (hex output format).
    public init(postgresText text: String?, typeOID: UInt32) throws {
        let text = try Self.nonNull(text)
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            throw PostgresError(.decoding, "is not bytea in hex format")
        }
        func nibble(_ byte: UInt8) throws -> UInt8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: throw PostgresError(.decoding, "is not bytea in hex format")
            }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            bytes.append(try nibble(utf8[index]) << 4 | nibble(utf8[index + 1]))
            index += 2
        }
        self = bytes
    }
}
