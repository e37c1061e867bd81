import Foundation

/// One column of a chunk as a single array parameter for `INSERT ... SELECT * FROM unnest($1, $2, ...)`.
///
/// Columns of the common types (integers, `float8`, `bool`, `text`, `varchar`, `timestamptz`, `date`, `uuid`,
/// `json`, `jsonb`, `bytea`) are sent in PostgreSQL's binary array format, which the server reads without parsing; any other
/// type, or a value that does not match the column's type, makes the column fall back to the text array format,
/// parsed by the column type's own input function. Either way no value is spliced into SQL.
struct PostgresColumnArray {
    /// The column's element type and its array type, from the catalog.
    struct ColumnType: Sendable, Hashable {
        var elementOID: UInt32
        var arrayOID: UInt32
    }

    /// Encodes `values` (one per row) for a column of `type`.
    ///
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidParameter`` for text holding NUL or an integer
    ///   out of the column's range.
    static func encode(_ values: [PostgresValue?], as type: ColumnType, column: Int) throws -> PostgresEncodedParameter
    {
        if let binary = try binary(values, type) {
            return .binary(binary, typeOID: type.arrayOID)
        }
        return .text(try textLiteral(values, column: column), typeOID: type.arrayOID)
    }

    /// Each of `columns`' type and array type in `table` (quoted), from the catalog: one query.
    ///
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a missing column.
    static func lookUpTypes(
        table: String, tableName: String, columns: [String], on connection: PostgresConnection
    ) async throws -> [ColumnType] {
        let rows = try await connection.query(
            """
            SELECT a.attname, a.atttypid::int8 AS element, t.typarray::int8 AS array
              FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
             WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
            """, [.text(table)])
        var byName: [String: ColumnType] = [:]
        for row in rows {
            byName[try row.decode("attname")] = ColumnType(
                elementOID: UInt32(try row.decode("element", as: Int64.self)),
                arrayOID: UInt32(try row.decode("array", as: Int64.self)))
        }
        return try columns.map { column in
            guard let type = byName[column] else {
                throw PostgresError(.invalidConfiguration, "table \(tableName) has no column '\(column)'")
            }
            return type
        }
    }

    // MARK: Binary

    /// The element types with a binary encoding here.
    static let binaryTypes: Set<UInt32> = [
        PostgresTypeOID.int8, PostgresTypeOID.int4, PostgresTypeOID.int2, PostgresTypeOID.float8,
        PostgresTypeOID.bool, PostgresTypeOID.text, PostgresTypeOID.varchar, PostgresTypeOID.json,
        PostgresTypeOID.jsonb, PostgresTypeOID.timestamptz, PostgresTypeOID.bytea, PostgresTypeOID.date,
        PostgresTypeOID.uuid,
    ]

    /// The binary array, or nil when some value has no binary encoding for this element type.
    private static func binary(_ values: [PostgresValue?], _ type: ColumnType) throws -> [UInt8]? {
        var bytes = PostgresBinaryBuffer(capacity: 20 + values.count * 16)
        let hasNulls = values.contains { $0 == nil }
        bytes.append(Int32(1))  // dimensions
        bytes.append(Int32(hasNulls ? 1 : 0))
        bytes.append(type.elementOID)
        bytes.append(Int32(values.count))
        bytes.append(Int32(1))  // lower bound
        for value in values {
            guard try appendElement(value, type.elementOID, to: &bytes) else { return nil }
        }
        return bytes.bytes()
    }

    /// Appends one element (length and bytes, or the length -1 for NULL); false when the value has no binary form
    /// for the type. An array element and a field of `COPY`'s binary format are laid out alike.
    ///
    /// Switches on the value before the type: a switch over the pair would copy the value (a retain and a release
    /// of its text) for every field.
    static func appendElement(
        _ value: PostgresValue?, _ oid: UInt32, to bytes: inout PostgresBinaryBuffer
    ) throws -> Bool {
        switch value {
        case nil:
            bytes.append(Int32(-1))
        case .int(let number)?:
            switch oid {
            case PostgresTypeOID.int8:
                bytes.append(Int32(8))
                bytes.append(number)
            case PostgresTypeOID.int4:
                guard let narrow = Int32(exactly: number) else { throw outOfRange(number, "integer") }
                bytes.append(Int32(4))
                bytes.append(narrow)
            case PostgresTypeOID.int2:
                guard let narrow = Int16(exactly: number) else { throw outOfRange(number, "smallint") }
                bytes.append(Int32(2))
                bytes.append(narrow)
            case PostgresTypeOID.float8:
                bytes.append(Int32(8))
                bytes.append(Double(number).bitPattern)
            default:
                return false
            }
        case .text(let text)?:
            switch oid {
            case PostgresTypeOID.text, PostgresTypeOID.varchar, PostgresTypeOID.json: try appendText(text, to: &bytes)
            case PostgresTypeOID.jsonb: try appendText(text, version: 1, to: &bytes)
            default: return false
            }
        case .double(let number)? where oid == PostgresTypeOID.float8:
            bytes.append(Int32(8))
            bytes.append(number.bitPattern)
        case .bool(let flag)? where oid == PostgresTypeOID.bool:
            bytes.append(Int32(1))
            bytes.append(byte: flag ? 1 : 0)
        case .json(let json)? where oid == PostgresTypeOID.json:
            try appendText(json.canonicalJSON, to: &bytes)
        case .json(let json)? where oid == PostgresTypeOID.jsonb:
            try appendText(json.canonicalJSON, version: 1, to: &bytes)
        case .timestamp(let date)? where oid == PostgresTypeOID.timestamptz:
            // Microseconds since 2000-01-01 00:00:00 UTC.
            let micros = ((date.timeIntervalSince1970 - 946_684_800) * 1_000_000).rounded()
            guard let exact = Int64(exactly: micros) else { return false }
            bytes.append(Int32(8))
            bytes.append(exact)
        case .bytes(let data)? where oid == PostgresTypeOID.bytea:
            bytes.append(Int32(data.count))
            bytes.append(data)
        case .date(let day)? where oid == PostgresTypeOID.date:
            bytes.append(Int32(4))
            bytes.append(day.daysSince2000)
        case .uuid(let uuid)? where oid == PostgresTypeOID.uuid:
            bytes.append(Int32(16))
            withUnsafeBytes(of: uuid.uuid) { bytes.append($0) }
        default:
            return false
        }
        return true
    }

    private static func appendText(
        _ text: String, version: UInt8? = nil, to bytes: inout PostgresBinaryBuffer
    ) throws {
        // A native string's UTF-8 is read in place; only a bridged or foreign one is copied first.
        if let appended = try text.utf8.withContiguousStorageIfAvailable({
            try appendText(utf8: $0, version: version, to: &bytes)
        }) {
            return appended
        }
        var copy = text
        try copy.withUTF8 { try appendText(utf8: $0, version: version, to: &bytes) }
    }

    private static func appendText(
        utf8: UnsafeBufferPointer<UInt8>, version: UInt8?, to bytes: inout PostgresBinaryBuffer
    ) throws {
        if let base = utf8.baseAddress, memchr(base, 0, utf8.count) != nil {
            throw PostgresError(
                .invalidParameter, "a value contains a NUL character (U+0000), which PostgreSQL text cannot store")
        }
        bytes.append(Int32(utf8.count + (version == nil ? 0 : 1)))
        if let version { bytes.append(byte: version) }
        bytes.append(UnsafeRawBufferPointer(utf8))
    }

    private static func outOfRange(_ number: Int64, _ type: String) -> PostgresError {
        PostgresError(.invalidParameter, "\(number) is out of range for a \(type) column")
    }

    // MARK: Text

    /// The text form `{"a","b",NULL}`, every element quoted and escaped.
    private static func textLiteral(_ values: [PostgresValue?], column: Int) throws -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(2 + values.count * 16)
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let value else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            var element = try value.textEncoding(position: column)
            bytes.append(UInt8(ascii: "\""))
            element.withUTF8 { utf8 in
                for byte in utf8 {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                    bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
