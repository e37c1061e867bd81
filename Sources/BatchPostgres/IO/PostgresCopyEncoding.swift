/// How a ``PostgresCopyItemWriter`` turns a chunk's items into `COPY` input once its first chunk settled the
/// columns and their types. It holds no connection and changes nothing, so a step reading ahead encodes the next
/// chunk with it while the previous one is copied and committed.
struct PostgresCopyEncoding<Item>: Sendable {
    /// A chunk's rows, in `COPY` statements' input.
    struct Encoded: Sendable {
        /// One statement's input per piece.
        let pieces: [[UInt8]]
        /// Whether they are in the binary format (else text).
        let binary: Bool
    }

    let mapping: PostgresRowMapping<Item>
    let columns: [String]
    /// The columns' type OIDs.
    let types: [UInt32]
    /// Whether chunks go in the binary format: asked for, and every column's type has a binary encoding here.
    let binary: Bool
    /// The most rows per statement, or nil for ``PostgresCopyItemWriter/automaticStatementRows(chunk:)``.
    let rowsPerStatement: Int?
    /// The binary and the text `COPY` statement.
    let statements: (binary: String, text: String)

    /// The items' rows: binary when ``binary`` allows it and every value has a binary form for its column, text
    /// otherwise.
    ///
    /// - Throws: ``PostgresError`` naming the writer, table, column and item for a value its column cannot hold.
    func encode(_ items: [Item]) throws -> Encoded {
        let rowsPerStatement =
            self.rowsPerStatement
            ?? PostgresCopyItemWriter<Item>.automaticStatementRows(
                chunk: items.count)
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity((items.count + rowsPerStatement - 1) / rowsPerStatement)
        var start = 0
        while binary, start < items.count {
            let end = min(items.count, start + rowsPerStatement)
            // A value without a binary form for its column: this chunk goes as text.
            guard let piece = try encodeBinary(items[start..<end]) else { break }
            pieces.append(piece)
            start = end
        }
        if start == items.count { return Encoded(pieces: pieces, binary: binary) }
        pieces.removeAll()
        start = 0
        while start < items.count {
            let end = min(items.count, start + rowsPerStatement)
            pieces.append(try encodeText(items[start..<end]))
            start = end
        }
        return Encoded(pieces: pieces, binary: false)
    }

    /// The rows in the binary COPY format, or nil when some value has no binary form for its column.
    private func encodeBinary(_ items: ArraySlice<Item>) throws -> [UInt8]? {
        let startIndex = items.startIndex
        var bytes = PostgresBinaryBuffer(capacity: 21 + items.count * (2 + 12 * types.count))
        bytes.append(Self.binarySignature)
        bytes.append(Int32(0))  // flags
        bytes.append(Int32(0))  // header extension length
        let fieldCount = Int16(types.count)
        let types = self.types
        let values = mapping.valuesFunction()
        // Each value is switched on in place in its row (taken out, it would be copied: a retain and a release of
        // its text); offsets rather than `enumerated()`, which over a generic item looks up the metadata of each
        // (offset, element) tuple.
        let complete = try items.withUnsafeBufferPointer { items in
            for offset in items.indices {
                let index = startIndex + offset
                let row = try values(items[offset], index)
                bytes.append(fieldCount)
                let fits = try row.withUnsafeBufferPointer { row in
                    for column in row.indices {
                        do {
                            guard try PostgresColumnArray.appendElement(row[column], types[column], to: &bytes) else {
                                return false
                            }
                        } catch let error as PostgresError {
                            throw located(error, column: column, item: index)
                        }
                    }
                    return true
                }
                guard fits else { return false }
            }
            return true
        }
        guard complete else { return nil }
        bytes.append(Int16(-1))  // trailer
        return bytes.bytes()
    }

    /// The rows in the text COPY format.
    private func encodeText(_ items: ArraySlice<Item>) throws -> [UInt8] {
        var text = PostgresCopyText(capacity: items.count * 16 * columns.count)
        let values = mapping.valuesFunction()
        for index in items.indices {
            let row = try values(items[index], index)
            for column in row.indices {
                do {
                    try text.append(row[column], position: column + 1)
                } catch let error as PostgresError {
                    throw located(error, column: column, item: index)
                }
            }
            text.endRow()
        }
        return text.bytes
    }

    /// `error` with the writer, table, column and item in front of its message.
    private func located(_ error: PostgresError, column: Int, item: Int) -> PostgresError {
        var error = error
        error.message = "\(mapping.context), column \(columns[column]), item \(item): " + error.message
        return error
    }

    /// `PGCOPY\n\377\r\n\0`: the binary format's signature.
    private static var binarySignature: [UInt8] { [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00] }
}
