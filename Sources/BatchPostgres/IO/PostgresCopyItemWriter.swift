import Batch

/// Loads a chunk's items into a table with `COPY table (columns) FROM STDIN` inside the chunk's transaction, so
/// they commit together with the step's counters and context: a restart neither loses nor repeats a row.
///
/// The fastest way into PostgreSQL for large chunks: `COPY` fills table pages several rows at a time, where an
/// `INSERT` adds them one by one. Rows go in PostgreSQL's binary COPY format when every column's type has a binary
/// encoding here (integers, `float8`, `bool`, `text`, `varchar`, `json`, `jsonb`, `timestamptz`, `bytea`), which the
/// server reads without parsing text; otherwise (a `numeric`, `date` or `uuid` column, say, or a value that does not
/// fit its column) the chunk goes in the text format, read by each column type's input function. No value is ever
/// spliced into SQL.
///
/// ```swift
/// ChunkStep("load-entries", chunkSize: 1_000, reader: { _ in try CSVReader<Entry>(path: path) }, writer: { _ in
///     try PostgresCopyItemWriter<Entry>(table: "ledger", columns: ["id", "account", "amount"]) { entry in
///         [.int(entry.id), .text(entry.account), .int(entry.amount)]
///     }
/// })
/// ```
///
/// **Transactions.** The chunk's `BEGIN` and its `COPY` statements go out in one message; libpq runs no `COPY` in
/// pipeline mode, so a chunk costs three round trips (start the copy, end it, commit) where the
/// ``PostgresItemWriter`` needs one. A refused row fails the whole `COPY`: the chunk rolls back, and a skip policy
/// then writes the items one by one, each after a savepoint, to leave the bad one out.
///
/// It needs the step to run with a ``PostgresJobRepository`` (whose chunk transaction it writes in). The column
/// types come from the catalog, looked up once per writer.
public struct PostgresCopyItemWriter<Item>: ItemWriter {
    /// The COPY format.
    public enum Format: Sendable, Hashable {
        /// Binary when every column type allows it, for every chunk whose values all fit; text otherwise.
        case automatic
        /// Always the text format.
        case text
    }

    private let tableName: String
    private let quotedTable: String
    private let columns: [String]
    private let binaryStatement: String
    private let textStatement: String
    private let rowsPerStatement: Int
    private let format: Format
    private let values: @Sendable (Item) throws -> [PostgresValue?]
    private var columnTypes: [UInt32]?
    /// Whether every column has a binary encoding here.
    private var binaryColumns = false

    /// Creates a writer.
    ///
    /// - Parameters:
    ///   - table: the table, optionally schema-qualified (`ledger`, `accounting.ledger`).
    ///   - columns: the columns to fill, in the order `values` returns them.
    ///   - rowsPerStatement: a chunk is copied in `COPY` statements of at most this many rows (default 250), all
    ///     sent in one message. PostgreSQL 15's cost per `COPY` grows with the square of the rows it buffers (up to
    ///     1,000), so 1,000-row chunks load faster as four statements than as one.
    ///   - format: ``Format/automatic`` (binary where possible) or ``Format/text``.
    ///   - values: an item's values for those columns (nil is NULL).
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a bad table or column name.
    public init(
        table: String, columns: [String], rowsPerStatement: Int = 250, format: Format = .automatic,
        values: @escaping @Sendable (Item) throws -> [PostgresValue?]
    ) throws {
        let quotedTable = try PostgresIdentifier.quoted(table, what: "table")
        let quotedColumns = try columns.map { try PostgresIdentifier.quoted($0, what: "column") }
        guard !columns.isEmpty, Set(columns).count == columns.count else {
            throw PostgresError(.invalidConfiguration, "PostgresCopyItemWriter needs distinct columns for \(table)")
        }
        self.tableName = table
        self.quotedTable = quotedTable
        self.columns = columns
        let target = "\(quotedTable) (\(quotedColumns.joined(separator: ", ")))"
        self.binaryStatement = "COPY \(target) FROM STDIN WITH (FORMAT binary)"
        self.textStatement = "COPY \(target) FROM STDIN"
        self.rowsPerStatement = max(1, rowsPerStatement)
        self.format = format
        self.values = values
    }

    /// Copies the items on the chunk transaction's connection.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when the step's repository is not
    ///   PostgreSQL; ``PostgresError`` when the copy fails (the chunk then rolls back).
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        let connection = try PostgresChunkTransaction.of(transaction, writer: "PostgresCopyItemWriter").connection
        guard !items.isEmpty else { return }
        let types = try await types(on: connection)
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity((items.count + rowsPerStatement - 1) / rowsPerStatement)
        var binary = binaryColumns && format == .automatic
        if binary {
            var start = 0
            while start < items.count, binary {
                let end = min(items.count, start + rowsPerStatement)
                if let piece = try encodeBinary(items[start..<end], types, first: start) {
                    pieces.append(piece)
                } else {
                    binary = false  // a value without a binary form for its column: this chunk goes as text
                }
                start = end
            }
        }
        if !binary {
            pieces.removeAll()
            var start = 0
            while start < items.count {
                let end = min(items.count, start + rowsPerStatement)
                pieces.append(try encodeText(items[start..<end], first: start))
                start = end
            }
        }
        do {
            try await connection.copyIn(binary ? binaryStatement : textStatement, pieces: pieces)
        } catch var error as PostgresError {
            error.message = "PostgresCopyItemWriter for \(tableName): " + error.message
            throw error
        }
    }

    /// The rows in the binary COPY format, or nil when some value has no binary form for its column.
    private func encodeBinary(_ items: ArraySlice<Item>, _ types: [UInt32], first: Int) throws -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(19 + items.count * (2 + 12 * types.count))
        bytes.append(contentsOf: Self.binarySignature)
        PostgresColumnArray.append(Int32(0), to: &bytes)  // flags
        PostgresColumnArray.append(Int32(0), to: &bytes)  // header extension length
        let fieldCount = Int16(types.count)
        for (offset, item) in items.enumerated() {
            let row = try rowValues(item, index: first + offset)
            PostgresColumnArray.append(fieldCount, to: &bytes)
            for (column, value) in row.enumerated() {
                guard let value else {
                    PostgresColumnArray.append(Int32(-1), to: &bytes)
                    continue
                }
                do {
                    guard try PostgresColumnArray.appendElement(value, types[column], to: &bytes) else { return nil }
                } catch var error as PostgresError {
                    error.message =
                        "PostgresCopyItemWriter for \(tableName), column \(columns[column]), item \(first + offset): "
                        + error.message
                    throw error
                }
            }
        }
        PostgresColumnArray.append(Int16(-1), to: &bytes)  // trailer
        return bytes
    }

    /// The rows in the text COPY format.
    private func encodeText(_ items: ArraySlice<Item>, first: Int) throws -> [UInt8] {
        var text = PostgresCopyText(capacity: items.count * 16 * columns.count)
        for (offset, item) in items.enumerated() {
            let row = try rowValues(item, index: first + offset)
            for (column, value) in row.enumerated() {
                do {
                    try text.append(value, position: column + 1)
                } catch var error as PostgresError {
                    error.message =
                        "PostgresCopyItemWriter for \(tableName), column \(columns[column]), item \(first + offset): "
                        + error.message
                    throw error
                }
            }
            text.endRow()
        }
        return text.bytes
    }

    private func rowValues(_ item: Item, index: Int) throws -> [PostgresValue?] {
        let row = try values(item)
        guard row.count == columns.count else {
            throw PostgresError(
                .invalidParameter,
                "PostgresCopyItemWriter for \(tableName): item \(index) has \(row.count) values for "
                    + "\(columns.count) columns")
        }
        return row
    }

    /// The columns' type OIDs, from the catalog (looked up once per writer).
    private mutating func types(on connection: PostgresConnection) async throws -> [UInt32] {
        if let columnTypes { return columnTypes }
        let types = try await PostgresColumnArray.lookUpTypes(
            table: quotedTable, tableName: tableName, columns: columns, on: connection
        ).map(\.elementOID)
        binaryColumns = types.allSatisfy(PostgresColumnArray.binaryTypes.contains)
        columnTypes = types
        return types
    }

    /// `PGCOPY\n\377\r\n\0`: the binary format's signature.
    private static var binarySignature: [UInt8] { [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00] }
}
