import Batch
import Foundation

/// Turns `Encodable` values into CSV records: each coding key is a column. Values are written as text — numbers in
/// their shortest exact form, `Bool` as `true`/`false`, `Date` as ISO 8601, `Decimal` and `URL` as text, nil as an
/// empty field, and anything encoding itself as one such value (`UUID`, raw-value enums) as that value. Nested
/// structures have no place in a field and are refused.
///
/// The columns are ``CSVFormat/columns`` when given, else the keys of the first record in the order it encodes them.
/// Fields are gathered into one scratch array per record and then written out in column order with RFC 4180
/// quoting (or backslash escapes) where needed.
///
/// Its mutable state is `@exclusivity(unchecked)`: one reader or writer uses it from one task at a time and no
/// access to it ever overlaps another (no callbacks run while one is in progress), so the runtime's per-access
/// exclusivity checks — a fifth of the time of a CSV copy — buy nothing here.
final class CSVRecordEncoding {
    /// The column names, once known.
    @exclusivity(unchecked) private(set) var columns: [String]
    /// Whether the columns are settled (given, restored, or taken from the first record).
    @exclusivity(unchecked) private(set) var isSettled: Bool
    @exclusivity(unchecked) private var columnIndex: [String: Int] = [:]
    @exclusivity(unchecked) private var scratch: [UInt8] = []
    @exclusivity(unchecked) private var fieldStarts: [Int] = []
    @exclusivity(unchecked) private var fieldEnds: [Int] = []
    @exclusivity(unchecked) private var unnamedCount = 0
    /// The columns of the n-th key encoded in the last records (items encode their keys in the same order every
    /// time, so one string comparison confirms the guess instead of hashing the key).
    @exclusivity(unchecked) private var guesses: [Int] = []
    @exclusivity(unchecked) private var lookups = 0

    let path: String
    let encoding: TextEncoding
    private let delimiter: UInt8
    private let quotes: Bool
    private let lineEnding: [UInt8]
    /// The record being written, from 1, for errors.
    @exclusivity(unchecked) var recordNumber: Int64 = 0

    init(path: String, format: CSVFormat, columns: [String]?) throws {
        self.path = path
        self.encoding = format.encoding
        self.delimiter = try format.delimiterByte()
        self.quotes = format.escaping == .quotes
        self.lineEnding = format.lineEnding.bytes
        self.columns = columns ?? []
        self.isSettled = columns != nil
        reindex()
        scratch.reserveCapacity(1024)
    }

    /// Forgets the columns taken from a record that was rolled back, or restores saved ones.
    func resetColumns(_ columns: [String]?, settled: Bool) {
        self.columns = columns ?? []
        self.isSettled = settled
        reindex()
    }

    private func reindex() {
        columnIndex = [:]
        for (index, name) in columns.enumerated() where columnIndex[name] == nil { columnIndex[name] = index }
    }

    // MARK: Records

    /// Encodes `item` as one record and appends it (with a line ending) to `output`.
    /// - Throws: ``BatchError/Code/malformedRecord`` when the item cannot be a record of these columns.
    func append(_ item: some Encodable, to output: inout [UInt8]) throws {
        recordNumber += 1
        scratch.removeAll(keepingCapacity: true)
        let width = isSettled ? columns.count : 0
        if fieldStarts.count == width {
            for column in 0..<width { fieldStarts[column] = -1 }
        } else {
            fieldStarts = Array(repeating: -1, count: width)
            fieldEnds = Array(repeating: -1, count: width)
        }
        unnamedCount = 0
        lookups = 0
        let columnsBefore = columns.count
        do {
            try item.encode(to: CSVRecordEncoder(record: self))
        } catch {
            if !isSettled { resetColumns(Array(columns.prefix(columnsBefore)), settled: false) }
            throw describe(error)
        }
        isSettled = true
        for column in 0..<fieldStarts.count {
            if column > 0 { output.append(delimiter) }
            guard fieldStarts[column] >= 0 else { continue }
            try writeField(scratch[fieldStarts[column]..<fieldEnds[column]], column: column, to: &output)
        }
        if fieldStarts.count == 1, quotes, fieldStarts[0] < 0 || fieldStarts[0] == fieldEnds[0] {
            output.append(contentsOf: [0x22, 0x22])  // a lone empty field, told apart from a blank line
        }
        output.append(contentsOf: lineEnding)
    }

    /// Appends the header record to `output`.
    func appendHeader(to output: inout [UInt8]) throws {
        for (column, name) in columns.enumerated() {
            if column > 0 { output.append(delimiter) }
            var bytes: [UInt8] = []
            guard encoding.encode(name, into: &bytes) else {
                throw FileErrors.unwritable(
                    path, record: 0, field: FieldName(name: name, index: column), "not representable in \(encoding)")
            }
            try writeField(bytes[...], column: column, to: &output)
        }
        output.append(contentsOf: lineEnding)
    }

    /// Writes a field, quoting or escaping it when it holds a delimiter, a quote or a line break.
    private func writeField(_ field: ArraySlice<UInt8>, column: Int, to output: inout [UInt8]) throws {
        let delimiter = self.delimiter
        if quotes {
            // A field starting with U+FEFF is quoted: at the start of a file, its bytes would read back as a byte
            // order mark and be dropped.
            let startsWithByteOrderMark = field.starts(with: [0xEF, 0xBB, 0xBF])
            guard
                startsWithByteOrderMark
                    || field.contains(where: { $0 == delimiter || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D })
            else {
                output.append(contentsOf: field)
                return
            }
            output.append(0x22)
            for byte in field {
                output.append(byte)
                if byte == 0x22 { output.append(0x22) }
            }
            output.append(0x22)
        } else {
            guard field.contains(where: { $0 == delimiter || $0 == 0x5C || $0 == 0x0A || $0 == 0x0D }) else {
                output.append(contentsOf: field)
                return
            }
            for byte in field {
                switch byte {
                case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09 where delimiter == 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x5C, delimiter: output.append(contentsOf: [0x5C, byte])
                default: output.append(byte)
                }
            }
        }
    }

    private func describe(_ error: any Error) -> BatchError {
        if let error = error as? BatchError { return error }
        guard case .invalidValue(_, let context) = error as? EncodingError else {
            return FileErrors.unwritable(path, record: recordNumber, field: nil, "\(error)")
        }
        let field = context.codingPath.first.map { key in
            FieldName(
                name: key.intValue == nil ? key.stringValue : nil, index: columnIndex[key.stringValue] ?? key.intValue)
        }
        return FileErrors.unwritable(path, record: recordNumber, field: field, context.debugDescription)
    }

    // MARK: Fields

    /// The column of a keyed field, adding it while the columns are being taken from the first record.
    func column(for key: some CodingKey) throws -> Int {
        let name = key.stringValue
        let lookup = lookups
        lookups += 1
        if lookup < guesses.count, guesses[lookup] < columns.count, columns[guesses[lookup]] == name {
            return guesses[lookup]
        }
        if let index = columnIndex[name] {
            if lookup < guesses.count {
                guesses[lookup] = index
            } else if lookup == guesses.count {
                guesses.append(index)
            }
            return index
        }
        guard !isSettled else {
            throw EncodingError.invalidValue(
                key.stringValue,
                .init(
                    codingPath: [key],
                    debugDescription:
                        "no column '\(key.stringValue)' in the header (\(columns.joined(separator: ", "))); "
                        + "set CSVFormat.columns to every column, as the first record left it out (a nil optional?)"))
        }
        columns.append(key.stringValue)
        columnIndex[key.stringValue] = columns.count - 1
        fieldStarts.append(-1)
        fieldEnds.append(-1)
        return columns.count - 1
    }

    /// The column of the next field of an unkeyed (positional) record.
    func nextPositionalColumn() throws -> Int {
        defer { unnamedCount += 1 }
        if unnamedCount < fieldStarts.count { return unnamedCount }
        guard !isSettled else {
            throw EncodingError.invalidValue(
                unnamedCount,
                .init(
                    codingPath: [PositionKey(unnamedCount)],
                    debugDescription: "the record has more fields than the \(columns.count) columns"))
        }
        columns.append("\(unnamedCount + 1)")
        fieldStarts.append(-1)
        fieldEnds.append(-1)
        return unnamedCount
    }

    /// Writes the text of a field's value into column `column`.
    func setField(_ column: Int, key: any CodingKey, _ write: (inout [UInt8]) -> Bool) throws {
        let start = scratch.count
        guard write(&scratch) else {
            scratch.removeSubrange(start...)
            throw EncodingError.invalidValue(
                key.stringValue,
                .init(codingPath: [key], debugDescription: "the text is not representable in \(encoding)"))
        }
        fieldStarts[column] = start
        fieldEnds[column] = scratch.count
    }
}

/// The encoder given to each item: hands out a keyed container (columns by name) or an unkeyed one (by position).
struct CSVRecordEncoder: Encoder {
    let record: CSVRecordEncoding

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(CSVKeyedEncodingContainer<Key>(record: record))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { CSVUnkeyedEncodingContainer(record: record) }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        CSVFieldEncoder(record: record, column: nil, key: PositionKey(0))
    }
}

/// Encodes one value into one field.
struct CSVFieldEncoder: SingleValueEncodingContainer, Encoder {
    let record: CSVRecordEncoding
    /// The field's column; nil for a record encoded as a single value (one positional field).
    let column: Int?
    let key: any CodingKey
    /// Whether this is a value nested inside a field, which has no place in CSV.
    var refuses = false

    var codingPath: [any CodingKey] { [key] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    private func set(_ write: (inout [UInt8]) -> Bool) throws {
        if refuses { throw CSVFieldEncoder.nested(key) }
        let column = try self.column ?? record.nextPositionalColumn()
        try record.setField(column, key: key, write)
    }

    private func setText(_ text: String) throws {
        let encoding = record.encoding
        try set { encoding.encode(text, into: &$0) }
    }

    private func setASCII(_ text: String) throws {
        try set {
            $0.append(contentsOf: text.utf8)
            return true
        }
    }

    private func setInteger(_ value: some FixedWidthInteger) throws {
        try set { output in
            guard value != 0 else {
                output.append(UInt8(ascii: "0"))
                return true
            }
            var magnitude = value.magnitude
            let start = output.count
            while magnitude > 0 {
                output.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10))
                magnitude /= 10
            }
            if value < 0 { output.append(UInt8(ascii: "-")) }
            output[start...].reverse()
            return true
        }
    }

    mutating func encodeNil() throws { try set { _ in true } }
    mutating func encode(_ value: Bool) throws { try setASCII(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { try setText(value) }
    mutating func encode(_ value: Double) throws { try setASCII(value.description) }
    mutating func encode(_ value: Float) throws { try setASCII(value.description) }
    mutating func encode(_ value: Int) throws { try setInteger(value) }
    mutating func encode(_ value: Int8) throws { try setInteger(value) }
    mutating func encode(_ value: Int16) throws { try setInteger(value) }
    mutating func encode(_ value: Int32) throws { try setInteger(value) }
    mutating func encode(_ value: Int64) throws { try setInteger(value) }
    mutating func encode(_ value: UInt) throws { try setInteger(value) }
    mutating func encode(_ value: UInt8) throws { try setInteger(value) }
    mutating func encode(_ value: UInt16) throws { try setInteger(value) }
    mutating func encode(_ value: UInt32) throws { try setInteger(value) }
    mutating func encode(_ value: UInt64) throws { try setInteger(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        switch value {
        case let date as Date: try setASCII(ISO8601.format(date))
        case let decimal as Decimal: try setASCII(decimal.description)
        case let url as URL: try setText(url.absoluteString)
        default: try value.encode(to: self)
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(CSVKeyedEncodingContainer<Key>(record: record, nestedIn: key))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        CSVUnkeyedEncodingContainer(record: record, nestedIn: key)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    /// The error for a nested structure inside a field.
    static func nested(_ key: any CodingKey) -> EncodingError {
        EncodingError.invalidValue(
            key.stringValue,
            .init(
                codingPath: [key],
                debugDescription: "a CSV field holds one value, not a nested structure; flatten the type or encode "
                    + "the value as text"))
    }
}

/// Maps coding keys to columns.
struct CSVKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let record: CSVRecordEncoding
    /// Set for a structure nested inside a field: every write then throws.
    var nestedIn: (any CodingKey)?

    var codingPath: [any CodingKey] { nestedIn.map { [$0] } ?? [] }

    @inline(__always)
    private func field(_ key: Key) throws -> CSVFieldEncoder {
        if let nestedIn { throw CSVFieldEncoder.nested(nestedIn) }
        return CSVFieldEncoder(record: record, column: try record.column(for: key), key: key)
    }

    mutating func encodeNil(forKey key: Key) throws {
        var field = try field(key)
        try field.encodeNil()
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: String, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: Float, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: Int, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: Int8, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: Int16, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: Int32, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: Int64, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: UInt, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        var field = try field(key)
        try field.encode(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(CSVKeyedEncodingContainer<NestedKey>(record: record, nestedIn: key))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        CSVUnkeyedEncodingContainer(record: record, nestedIn: key)
    }

    mutating func superEncoder() -> any Encoder { CSVRecordEncoder(record: record) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        CSVFieldEncoder(record: record, column: try? record.column(for: key), key: key, refuses: nestedIn != nil)
    }
}

/// Writes the fields of a positional record (an array or a tuple-like type) in order.
struct CSVUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let record: CSVRecordEncoding
    /// Set for a list nested inside a field: every write then throws.
    var nestedIn: (any CodingKey)?
    var count = 0

    init(record: CSVRecordEncoding, nestedIn: (any CodingKey)? = nil) {
        self.record = record
        self.nestedIn = nestedIn
    }

    var codingPath: [any CodingKey] { nestedIn.map { [$0] } ?? [] }

    private mutating func field() throws -> CSVFieldEncoder {
        if let nestedIn { throw CSVFieldEncoder.nested(nestedIn) }
        defer { count += 1 }
        return CSVFieldEncoder(record: record, column: try record.nextPositionalColumn(), key: PositionKey(count))
    }

    mutating func encodeNil() throws {
        var field = try field()
        try field.encodeNil()
    }

    mutating func encode(_ value: Bool) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: String) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: Double) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: Float) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: Int) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: Int8) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: Int16) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: Int32) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: Int64) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: UInt) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: UInt8) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: UInt16) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: UInt32) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode(_ value: UInt64) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        var field = try field()
        try field.encode(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    )
        -> KeyedEncodingContainer<NestedKey>
    {
        KeyedEncodingContainer(CSVKeyedEncodingContainer<NestedKey>(record: record, nestedIn: PositionKey(count)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        CSVUnkeyedEncodingContainer(record: record, nestedIn: PositionKey(count))
    }

    mutating func superEncoder() -> any Encoder {
        CSVFieldEncoder(record: record, column: nil, key: PositionKey(count), refuses: true)
    }
}
