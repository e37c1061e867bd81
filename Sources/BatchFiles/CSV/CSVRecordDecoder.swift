import Batch
import Foundation

/// Decodes one parsed record into a `Decodable` value: a keyed container maps coding keys to columns by header
/// name (or by an integer key's position when there are no names); an unkeyed container reads the fields in order
/// (so `[String]` reads a raw record).
///
/// Fields are text; a field becomes `String`, any integer type, `Double`, `Float`, `Bool` (`true`/`false`/`1`/`0`),
/// `Decimal`, `Date` (ISO 8601), `URL`, or anything decoding itself from a single value of those (`UUID`, enums with
/// raw values). An empty field is nil for an optional property. Errors are `DecodingError`s with the key as coding
/// path; the reader turns them into errors naming the file, line and field.
struct CSVRecordDecoder: Decoder {
    let record: CSVRecordSource

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(CSVKeyedDecodingContainer<Key>(record: record))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        CSVUnkeyedDecodingContainer(record: record)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        guard record.parser.fieldCount == 1 else {
            throw DecodingError.typeMismatch(
                Any.self,
                .init(
                    codingPath: [],
                    debugDescription: "a record of \(record.parser.fieldCount) fields cannot be one value; "
                        + "decode a struct (fields by header name) or an array"))
        }
        return CSVField(record: record, index: 0, key: nil)
    }
}

/// A parsed record and what is needed to name its fields: the parser's current record, the column names and the
/// encoding.
///
/// Its mutable state is `@exclusivity(unchecked)`: one reader or writer uses it from one task at a time and no
/// access to it ever overlaps another (no callbacks run while one is in progress), so the runtime's per-access
/// exclusivity checks — a fifth of the time of a CSV copy — buy nothing here.
final class CSVRecordSource {
    let parser: CSVParser
    let encoding: TextEncoding
    /// Column names, when the file has a header or the format names them.
    let columns: [String]?
    private let columnIndex: [String: Int]

    init(parser: CSVParser, encoding: TextEncoding, columns: [String]?) {
        self.parser = parser
        self.encoding = encoding
        self.columns = columns
        var index: [String: Int] = [:]
        for (position, name) in (columns ?? []).enumerated() where index[name] == nil { index[name] = position }
        self.columnIndex = index
        parser.columnNames = columns ?? []
    }

    /// The columns looked up by the n-th key decoded from the last records: items decode their keys in the same
    /// order every time, so checking the guess with one string comparison saves hashing the key.
    @exclusivity(unchecked) private var guesses: [Int] = []
    @exclusivity(unchecked) private var lookups = 0

    /// Starts a record: key lookups count from the first again.
    func beginRecord() { lookups = 0 }

    /// The field for `key`: by column name, else by the key's integer value when the file has no names.
    func index(of key: some CodingKey) -> Int? {
        if columns != nil { return index(ofColumn: key.stringValue) }
        guard let index = key.intValue, index >= 0, index < parser.fieldCount else { return nil }
        return index
    }

    /// The field of the column named `name`, when the file names its columns and the record is long enough.
    func index(ofColumn name: String) -> Int? {
        guard let columns else { return nil }
        let lookup = lookups
        lookups += 1
        let index: Int
        if lookup < guesses.count, columns[guesses[lookup]] == name {
            index = guesses[lookup]
        } else {
            guard let found = columnIndex[name] else { return nil }
            index = found
            if lookup < guesses.count {
                guesses[lookup] = found
            } else if lookup == guesses.count {
                guesses.append(found)
            }
        }
        return index < parser.fieldCount ? index : nil
    }

    func keyNotFound(_ key: some CodingKey) -> DecodingError {
        let description: String
        if let columns {
            description =
                columnIndex[key.stringValue] == nil
                ? "no column '\(key.stringValue)' in the header (columns: \(columns.joined(separator: ", ")))"
                : "the record has no field for column '\(key.stringValue)'"
        } else {
            description =
                "no column '\(key.stringValue)': the file has no header; set CSVFormat.columns to name the columns"
        }
        return .keyNotFound(key, .init(codingPath: [key], debugDescription: description))
    }

    /// Whether field `index` is empty.
    func isEmpty(_ index: Int) -> Bool { parser.range(of: index).isEmpty }

    /// Calls `body` with the bytes of field `index`.
    @inline(__always)
    func withBytes<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(parser.bytes(of: index))
    }
}

/// One field, decoded as a single value.
struct CSVField: SingleValueDecodingContainer {
    let record: CSVRecordSource
    let index: Int
    /// The key that named the field, for errors: its values only (an existential per field costs more than the
    /// decoding of a short field).
    let key: FieldKey?

    var codingPath: [any CodingKey] { key.map { [$0] } ?? [] }

    private func corrupted(_ description: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath, debugDescription: description))
    }

    private func mismatch(_ type: Any.Type, _ expected: String) -> DecodingError {
        let text = (try? decode(String.self)) ?? "?"
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return .typeMismatch(
            type, .init(codingPath: codingPath, debugDescription: "expected \(expected), found '\(shown)'"))
    }

    func decodeNil() -> Bool { record.isEmpty(index) }

    func decode(_ type: String.Type) throws -> String {
        guard let text = record.withBytes(index, { record.encoding.decode($0) }) else {
            throw corrupted("the field is not valid \(record.encoding)")
        }
        return text
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        let value: Bool? = record.withBytes(index) { bytes in
            switch bytes.count {
            case 1 where bytes[0] == UInt8(ascii: "1"): return true
            case 1 where bytes[0] == UInt8(ascii: "0"): return false
            case 4 where bytes.map({ $0 | 0x20 }) == Array("true".utf8): return true
            case 5 where bytes.map({ $0 | 0x20 }) == Array("false".utf8): return false
            default: return nil
            }
        }
        guard let value else { throw mismatch(type, "true, false, 1 or 0") }
        return value
    }

    func decode(_ type: Double.Type) throws -> Double { try floatingPoint(type) }
    func decode(_ type: Float.Type) throws -> Float { try floatingPoint(type) }

    /// Parses a whole number or refuses the field (see ``NumberText``).
    private func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type) throws -> T {
        switch NumberText.floatingPoint(try decode(String.self), as: type) {
        case .success(let value): return value
        case .failure(.outOfRange): throw mismatch(type, "a number within the range of \(T.self)")
        case .failure: throw mismatch(type, "a number")
        }
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    /// Parses an integer straight from the bytes or refuses the field (see ``integer(in:)``).
    private func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard let value: T = Self.integer(in: record.parser.bytes(of: index)) else {
            throw mismatch(type, "an integer (\(T.self))")
        }
        return value
    }

    /// The integer `bytes` spell: an optional sign and decimal digits, nothing else; nil for anything else or a
    /// number out of `T`'s range.
    @inline(__always)
    static func integer<T: FixedWidthInteger>(in bytes: UnsafeBufferPointer<UInt8>) -> T? {
        var i = 0
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            i = 1
        }
        guard i < bytes.count else { return nil }
        var value: T = 0
        while i < bytes.count {
            let digit = bytes[i] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative
                ? shifted.subtractingReportingOverflow(T(digit)) : shifted.addingReportingOverflow(T(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = next
            i += 1
        }
        return value
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == Decimal.self {
            switch NumberText.decimal(try decode(String.self)) {
            case .success(let value): return value as! T
            case .failure(.tooPrecise): throw mismatch(type, "a decimal number of at most 38 significant digits")
            case .failure(.outOfRange): throw mismatch(type, "a decimal number within the range of Decimal")
            case .failure: throw mismatch(type, "a decimal number")
            }
        }
        if T.self == Date.self {
            let text = try decode(String.self)
            guard let date = ISO8601.parse(text) else {
                throw mismatch(type, "an ISO 8601 date (2026-11-25 or 2026-11-25T10:00:00Z)")
            }
            return date as! T
        }
        if T.self == URL.self {
            guard let url = URL(string: try decode(String.self)) else { throw mismatch(type, "a URL") }
            return url as! T
        }
        return try T(from: CSVFieldDecoder(field: self))
    }
}

/// A decoder for one field, for types that decode themselves from a single value (`UUID`, raw-value enums).
struct CSVFieldDecoder: Decoder {
    let field: CSVField

    var codingPath: [any CodingKey] { field.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw DecodingError.typeMismatch(
            [String: Any].self,
            .init(codingPath: codingPath, debugDescription: "a CSV field cannot hold a nested structure"))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(
            [Any].self, .init(codingPath: codingPath, debugDescription: "a CSV field cannot hold a list"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { field }
}

/// Maps coding keys to fields by column name.
struct CSVKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let record: CSVRecordSource

    var codingPath: [any CodingKey] { [] }

    var allKeys: [Key] {
        if let columns = record.columns { return columns.compactMap { Key(stringValue: $0) } }
        return (0..<record.parser.fieldCount).compactMap { Key(intValue: $0) }
    }

    func contains(_ key: Key) -> Bool { record.index(of: key) != nil }

    @inline(__always)
    private func field(_ key: Key) throws -> CSVField {
        guard let index = record.index(of: key) else { throw record.keyNotFound(key) }
        return CSVField(record: record, index: index, key: FieldKey(key))
    }

    func decodeNil(forKey key: Key) throws -> Bool { try field(key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try field(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try field(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try field(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try field(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try field(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try field(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try field(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try field(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try field(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try field(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try field(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try field(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try field(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try field(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try field(key).decode(type) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try CSVFieldDecoder(field: field(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try CSVFieldDecoder(field: field(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { CSVRecordDecoder(record: record) }
    func superDecoder(forKey key: Key) throws -> any Decoder { CSVFieldDecoder(field: try field(key)) }
}

/// Reads the fields of a record in order.
struct CSVUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let record: CSVRecordSource
    var currentIndex = 0

    init(record: CSVRecordSource) { self.record = record }

    var codingPath: [any CodingKey] { [] }
    var count: Int? { record.parser.fieldCount }
    var isAtEnd: Bool { currentIndex >= record.parser.fieldCount }

    private mutating func next() throws -> CSVField {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self,
                .init(
                    codingPath: [PositionKey(currentIndex)],
                    debugDescription: "the record has only \(record.parser.fieldCount) fields"))
        }
        defer { currentIndex += 1 }
        return CSVField(record: record, index: currentIndex, key: FieldKey(PositionKey(currentIndex)))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, record.isEmpty(currentIndex) else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next().decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try CSVFieldDecoder(field: next()).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try CSVFieldDecoder(field: next()).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { CSVFieldDecoder(field: try next()) }
}

/// A coding key's string and integer values: how a field names itself in an error.
struct FieldKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(_ key: some CodingKey) {
        stringValue = key.stringValue
        intValue = key.intValue
    }

    /// The key of a column named `name`.
    init(column name: String) {
        stringValue = name
        intValue = nil
    }

    init?(stringValue: String) { self.init(column: stringValue) }
    init?(intValue: Int) { self.init(PositionKey(intValue)) }
}

/// A coding key for a position in a record.
struct PositionKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}
