import Foundation

/// One record of a CSV or TSV file, as a ``CSVReader`` made with a mapping closure
/// (``CSVReader/init(path:format:configuration:name:map:)``) hands it over: fields by column name, converted as
/// the `Decodable` path converts them.
///
/// ```swift
/// CSVReader(path: path) { record in
///     Entry(id: try record.decode(Int64.self, "id"), account: try record.decode(String.self, "account"),
///           amount: try record.decode(Decimal.self, "amount"), memo: try record.decodeIfPresent(String.self, "memo"))
/// }
/// ```
///
/// The same as decoding `Entry` through its `Decodable` conformance, field for field and error for error, at a
/// fraction of the cost: no decoder, container or coding key is made per record (about 40 % less CPU time per record
/// for a few short fields). A record is valid only during the closure's call.
///
/// Columns are named by the header or ``CSVFormat/columns``. An error names the file, the line and the field as a
/// decoding error does: `orders.csv, line 12, field 'amount' (column 3): expected a decimal number, found 'n/a'`.
public struct CSVRecord {
    let source: CSVRecordSource

    /// The number of fields in the record.
    public var fieldCount: Int { source.parser.fieldCount }

    /// `decode` applied to the field of `column`. The field carries no coding key (an existential made and destroyed
    /// per field): a decoding error gets the column's when it is thrown.
    @inline(__always)
    private func field<T>(_ column: String, _ decode: (CSVField) throws -> T) throws -> T {
        guard let index = source.index(ofColumn: column) else { throw source.keyNotFound(ColumnKey(column)) }
        do {
            return try decode(CSVField(record: source, index: index, key: nil))
        } catch let error as DecodingError {
            throw error.at(ColumnKey(column))
        }
    }

    /// Whether the record has a field for `column` (the header names it and the record is long enough).
    public func contains(_ column: String) -> Bool { source.index(ofColumn: column) != nil }

    /// The field of `column` as text.
    /// - Throws: `DecodingError` (reported as ``BatchError/Code/malformedRecord``) when there is no such column or
    ///   the field is not valid in the file's encoding.
    public func decode(_ type: String.Type, _ column: String) throws -> String {
        try field(column) { try $0.decode(type) }
    }
    /// The field of `column` as `true`, `false`, `1` or `0`.
    public func decode(_ type: Bool.Type, _ column: String) throws -> Bool { try field(column) { try $0.decode(type) } }
    /// The whole field of `column` as a number (fractions and exponents allowed; `nan`, `inf`).
    public func decode(_ type: Double.Type, _ column: String) throws -> Double {
        try field(column) { try $0.decode(type) }
    }
    /// The field of `column` as an integer: an optional sign and decimal digits, within the type's range.
    public func decode(_ type: Int.Type, _ column: String) throws -> Int { try field(column) { try $0.decode(type) } }
    /// The field of `column` as an integer: an optional sign and decimal digits, within the type's range.
    public func decode(_ type: Int32.Type, _ column: String) throws -> Int32 {
        try field(column) { try $0.decode(type) }
    }
    /// The field of `column` as an integer: an optional sign and decimal digits, within the type's range.
    public func decode(_ type: Int64.Type, _ column: String) throws -> Int64 {
        try field(column) { try $0.decode(type) }
    }

    /// The field of `column` as any type the `Decodable` path reads from a field: `Decimal`, `Date` (ISO 8601),
    /// `URL`, the other integer types, `Float`, or a type decoding itself from one value (`UUID`, raw-value enums).
    public func decode<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
        try field(column) { try $0.decode(type) }
    }

    /// The field of `column` as `type`, or nil when it is empty or the column is missing — as an optional property
    /// decodes.
    public func decodeIfPresent<T: Decodable>(_ type: T.Type, _ column: String) throws -> T? {
        guard contains(column) else { return nil }
        return try field(column) { field in field.decodeNil() ? nil : try field.decode(type) }
    }

    /// The field of `column` as text, or nil when it is empty or the column is missing.
    public func decodeIfPresent(_ type: String.Type, _ column: String) throws -> String? {
        guard contains(column) else { return nil }
        return try field(column) { field in field.decodeNil() ? nil : try field.decode(type) }
    }
}

/// A column name as a coding key, so a mapped record's errors name their field as a decoded one's do.
struct ColumnKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension DecodingError {
    /// This error with `key` as its coding path.
    func at(_ key: some CodingKey) -> DecodingError {
        func moved(_ context: Context) -> Context {
            Context(
                codingPath: [key], debugDescription: context.debugDescription, underlyingError: context.underlyingError)
        }
        switch self {
        case .typeMismatch(let type, let context): return .typeMismatch(type, moved(context))
        case .valueNotFound(let type, let context): return .valueNotFound(type, moved(context))
        case .keyNotFound(let missing, let context): return .keyNotFound(missing, moved(context))
        case .dataCorrupted(let context): return .dataCorrupted(moved(context))
        @unknown default: return self
        }
    }
}
