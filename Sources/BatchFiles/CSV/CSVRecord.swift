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
/// fraction of the cost: no decoder or keyed container (a box allocated per record) is made. Reading the four
/// short columns of `PostgresBenchmarks`' CSV load, it took 44 % less CPU per record (`perf`). A record is valid
/// only during the closure's call.
///
/// Columns are named by the header or ``CSVFormat/columns``. An error names the file, the line and the field as a
/// decoding error does: `orders.csv, line 12, field 'amount' (column 3): expected a decimal number, found 'n/a'`.
public struct CSVRecord {
    let source: CSVRecordSource

    /// The number of fields in the record.
    public var fieldCount: Int { source.parser.fieldCount }

    /// The field of `column`.
    @inline(__always)
    private func field(_ column: String) throws -> CSVField {
        CSVField(record: source, index: try index(of: column), key: FieldKey(column: column))
    }

    /// The index of `column`'s field.
    @inline(__always)
    private func index(of column: String) throws -> Int {
        guard let index = source.index(ofColumn: column) else { throw source.keyNotFound(FieldKey(column: column)) }
        return index
    }

    /// The field of `column` unless the column is missing or the field empty (as an optional property decodes).
    @inline(__always)
    private func presentField(_ column: String) -> CSVField? {
        guard let index = source.index(ofColumn: column), !source.isEmpty(index) else { return nil }
        return CSVField(record: source, index: index, key: FieldKey(column: column))
    }

    /// Whether the record has a field for `column` (the header names it and the record is long enough).
    public func contains(_ column: String) -> Bool { source.index(ofColumn: column) != nil }

    /// The field of `column` as text.
    /// - Throws: `DecodingError` (reported as ``BatchError/Code/malformedRecord``) when there is no such column or
    ///   the field is not valid in the file's encoding.
    public func decode(_ type: String.Type, _ column: String) throws -> String {
        // The field's bytes are read in place; a `CSVField` (a reference to the record, retained) is made only to
        // report an error.
        let index = try index(of: column)
        if let text = source.encoding.decode(source.parser.bytes(of: index)) { return text }
        return try CSVField(record: source, index: index, key: FieldKey(column: column)).decode(type)
    }
    /// The field of `column` as `true`, `false`, `1` or `0`.
    public func decode(_ type: Bool.Type, _ column: String) throws -> Bool { try field(column).decode(type) }
    /// The whole field of `column` as a number (fractions and exponents allowed; `nan`, `inf`).
    public func decode(_ type: Double.Type, _ column: String) throws -> Double {
        try field(column).decode(type)
    }
    /// The field of `column` as an integer: an optional sign and decimal digits, within the type's range.
    public func decode(_ type: Int.Type, _ column: String) throws -> Int { try integer(type, column) }
    /// The field of `column` as an integer: an optional sign and decimal digits, within the type's range.
    public func decode(_ type: Int32.Type, _ column: String) throws -> Int32 { try integer(type, column) }
    /// The field of `column` as an integer: an optional sign and decimal digits, within the type's range.
    public func decode(_ type: Int64.Type, _ column: String) throws -> Int64 { try integer(type, column) }

    /// The field of `column` as an integer, parsed in place as text is read.
    @inline(__always)
    private func integer<T: FixedWidthInteger & Decodable>(_ type: T.Type, _ column: String) throws -> T {
        let index = try index(of: column)
        if let value: T = CSVField.integer(in: source.parser.bytes(of: index)) { return value }
        return try CSVField(record: source, index: index, key: FieldKey(column: column)).decode(type)
    }

    /// The field of `column` as any type the `Decodable` path reads from a field: `Decimal`, `Date` (ISO 8601),
    /// `URL`, the other integer types, `Float`, or a type decoding itself from one value (`UUID`, raw-value enums).
    public func decode<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
        try field(column).decode(type)
    }

    /// The field of `column` as `type`, or nil when it is empty or the column is missing — as an optional property
    /// decodes.
    public func decodeIfPresent<T: Decodable>(_ type: T.Type, _ column: String) throws -> T? {
        try presentField(column)?.decode(type)
    }

    /// The field of `column` as text, or nil when it is empty or the column is missing.
    public func decodeIfPresent(_ type: String.Type, _ column: String) throws -> String? {
        try presentField(column)?.decode(type)
    }
}
