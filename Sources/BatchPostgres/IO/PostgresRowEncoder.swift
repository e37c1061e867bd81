import Batch
import Foundation

/// Turns an `Encodable` item into its columns: one ``PostgresValue`` (nil for NULL) per coding key, in the order
/// the item encodes them.
///
/// `Bool`, the integers, `Float`, `Double` and `String` map to their own values (a `UInt64` beyond `Int64` to a
/// `numeric`); `Decimal` to `numeric`, `Date` to `timestamptz`, ``CalendarDay`` to `date`, `UUID` to `uuid`, `Data`
/// to `bytea`, ``JSONValue`` to `jsonb`; nil to NULL (an optional that is nil still names its column). A value that
/// encodes as one of those through a single-value container (an enum with raw values, a `URL`) maps as that value;
/// anything else — a nested struct, an array, a dictionary — becomes `jsonb` (dates in it as ISO 8601 text).
struct PostgresRowEncoder {
    /// How coding keys become column names.
    let naming: PostgresColumnNaming

    /// The item's columns and values, in the order it encodes them.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidParameter`` when the item does not encode
    ///   as a keyed container (a struct or a class), repeats a column, or holds a value that cannot be encoded.
    func row(of item: some Encodable) throws -> [(column: String, value: PostgresValue?)] {
        let storage = RowStorage(naming: naming)
        try item.encode(to: RowEncoder(storage: storage))
        if let problem = storage.problem { throw PostgresError(.invalidParameter, problem) }
        return storage.columns
    }

    /// The columns of an item whose type is `Encodable` (as a writer's mapping checks when it is made).
    func row(ofAny item: Any) throws -> [(column: String, value: PostgresValue?)] {
        guard let item = item as? any Encodable else {
            throw PostgresError(.invalidParameter, "\(type(of: item)) is not Encodable")
        }
        return try row(of: item)
    }

    /// The value of one property.
    static func value(of value: some Encodable) throws -> PostgresValue? {
        switch value {
        case let date as Date: return .timestamp(date)
        case let decimal as Decimal: return .decimal(decimal)
        case let uuid as UUID: return .uuid(uuid)
        case let day as CalendarDay: return .date(day)
        case let data as Data: return .bytes(Array(data))
        case let json as JSONValue: return json == .null ? nil : .json(json)
        default: break
        }
        let probe = ScalarProbe()
        try value.encode(to: probe)
        switch probe.result {
        case .scalar(let scalar): return scalar
        case .structured, .none: return .json(try json(of: value))
        }
    }

    /// A nested value as JSON, through Foundation's encoder.
    private static func json(of value: some Encodable) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        }
        do {
            return try JSONValue(parsing: try encoder.encode(value))
        } catch {
            throw PostgresError(.invalidParameter, "a nested \(type(of: value)) cannot be encoded as JSON: \(error)")
        }
    }
}

/// How a writer turns an item's coding keys into column names.
public enum PostgresColumnNaming: Sendable, Hashable {
    /// The coding key as it is (`bookedOn` fills the column `"bookedOn"`; rename with `CodingKeys`).
    case codingKeys
    /// The coding key in snake case (`bookedOn` fills `booked_on`, `accountID` fills `account_id`).
    case snakeCase

    /// The column for `key`.
    func column(for key: String) -> String {
        guard self == .snakeCase else { return key }
        var column = ""
        let characters = Array(key)
        for (index, character) in characters.enumerated() {
            if character.isUppercase {
                let previous = index > 0 ? characters[index - 1] : nil
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                let startsWord =
                    previous.map { $0.isLowercase || $0.isNumber } == true
                    || (previous?.isUppercase == true && next?.isLowercase == true)
                if startsWord && !column.hasSuffix("_") { column += "_" }
                column += character.lowercased()
            } else {
                column.append(character)
            }
        }
        return column
    }
}

// MARK: The encoder

/// What the row encoder has collected.
private final class RowStorage {
    let naming: PostgresColumnNaming
    var columns: [(column: String, value: PostgresValue?)] = []
    var seen: Set<String> = []
    var problem: String?

    init(naming: PostgresColumnNaming) { self.naming = naming }

    func set(_ key: any CodingKey, _ value: PostgresValue?) {
        let column = naming.column(for: key.stringValue)
        guard seen.insert(column).inserted else {
            fail("the item encodes the column '\(column)' twice")
            return
        }
        columns.append((column, value))
    }

    func fail(_ text: String) {
        if problem == nil { problem = text }
    }
}

private struct RowEncoder: Encoder {
    let storage: RowStorage
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(RowContainer<Key>(storage: storage))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        storage.fail("an item must encode as a keyed container (a struct or class with properties), not a list")
        return IgnoredContainer<AnyKey>()
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        storage.fail("an item must encode as a keyed container (a struct or class with properties), not one value")
        return ScalarProbe()
    }
}

private struct RowContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let storage: RowStorage
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { storage.set(key, nil) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { storage.set(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { storage.set(key, .text(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { storage.set(key, .double(value)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { storage.set(key, .double(Double(value))) }
    mutating func encode(_ value: Int, forKey key: Key) throws { storage.set(key, .int(Int64(value))) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { storage.set(key, .int(Int64(value))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { storage.set(key, .int(Int64(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { storage.set(key, .int(Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { storage.set(key, .int(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { storage.set(key, ScalarProbe.unsigned(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { storage.set(key, .int(Int64(value))) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { storage.set(key, .int(Int64(value))) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { storage.set(key, .int(Int64(value))) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { storage.set(key, ScalarProbe.unsigned(value)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        storage.set(key, try PostgresRowEncoder.value(of: value))
    }

    // An optional that is nil still names its column (the synthesized conformance would leave the key out).
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return storage.set(key, nil) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try present(value, key) }

    private mutating func present(_ value: (some Encodable)?, _ key: Key) throws {
        guard let value else { return storage.set(key, nil) }
        storage.set(key, try PostgresRowEncoder.value(of: value))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        storage.fail("the item's encode(to:) opens a nested container for '\(key.stringValue)'; encode a value")
        return KeyedEncodingContainer(IgnoredContainer<NestedKey>())
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        storage.fail("the item's encode(to:) opens a nested container for '\(key.stringValue)'; encode a value")
        return IgnoredContainer<Key>()
    }

    mutating func superEncoder() -> any Encoder {
        storage.fail("the item's encode(to:) uses superEncoder(), which a row cannot hold")
        return ScalarProbe()
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        storage.fail("the item's encode(to:) uses superEncoder(forKey:), which a row cannot hold")
        return ScalarProbe()
    }
}

// MARK: Single values

/// Encodes a property to learn whether it is one scalar (through a single-value container) or structured.
private final class ScalarProbe: Encoder, SingleValueEncodingContainer {
    enum Result {
        case scalar(PostgresValue?)
        case structured
    }

    var result: Result?
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func unsigned(_ value: some UnsignedInteger) -> PostgresValue {
        Int64(exactly: value).map { .int($0) } ?? .decimal(Decimal(string: String(value)) ?? 0)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        result = .structured
        return KeyedEncodingContainer(IgnoredContainer<Key>())
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        result = .structured
        return IgnoredContainer<AnyKey>()
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    private func set(_ value: PostgresValue?) {
        // A second value, or a value after a container, makes it structured: JSON then holds what it is.
        result = result == nil ? .scalar(value) : .structured
    }

    func encodeNil() throws { set(nil) }
    func encode(_ value: Bool) throws { set(.bool(value)) }
    func encode(_ value: String) throws { set(.text(value)) }
    func encode(_ value: Double) throws { set(.double(value)) }
    func encode(_ value: Float) throws { set(.double(Double(value))) }
    func encode(_ value: Int) throws { set(.int(Int64(value))) }
    func encode(_ value: Int8) throws { set(.int(Int64(value))) }
    func encode(_ value: Int16) throws { set(.int(Int64(value))) }
    func encode(_ value: Int32) throws { set(.int(Int64(value))) }
    func encode(_ value: Int64) throws { set(.int(value)) }
    func encode(_ value: UInt) throws { set(Self.unsigned(value)) }
    func encode(_ value: UInt8) throws { set(.int(Int64(value))) }
    func encode(_ value: UInt16) throws { set(.int(Int64(value))) }
    func encode(_ value: UInt32) throws { set(.int(Int64(value))) }
    func encode(_ value: UInt64) throws { set(Self.unsigned(value)) }
    func encode<T: Encodable>(_ value: T) throws { set(try PostgresRowEncoder.value(of: value)) }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// A container whose writes go nowhere: what it would hold is encoded another way (or refused) by its caller.
private struct IgnoredContainer<Key: CodingKey>: KeyedEncodingContainerProtocol, UnkeyedEncodingContainer {
    var codingPath: [any CodingKey] { [] }
    var count: Int { 0 }

    init() {}

    mutating func encodeNil(forKey key: Key) throws {}
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {}
    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> { KeyedEncodingContainer(IgnoredContainer<NestedKey>()) }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { self }
    mutating func superEncoder() -> any Encoder { ScalarProbe() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { ScalarProbe() }

    mutating func encodeNil() throws {}
    mutating func encode<T: Encodable>(_ value: T) throws {}
    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> { KeyedEncodingContainer(IgnoredContainer<NestedKey>()) }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { self }
}
