import Batch

/// Inserts a chunk's items into a table inside the chunk's transaction, so they commit together with the step's
/// counters and context (a restart neither loses nor repeats a row).
///
/// Each column travels as one array parameter (`INSERT ... SELECT * FROM unnest($1, $2, ...)`), typed from the
/// table's own column types, which the writer looks up once.
/// ```swift
/// ChunkStep("post-entries", chunkSize: 1_000, reader: { _ in entries }, writer: { _ in
///     PostgresItemWriter<Entry>(table: "ledger", columns: ["account", "amount"]) { entry in
///         [.text(entry.account), .int(entry.amount)]
///     }
/// })
/// ```
/// It needs the step to run with a ``PostgresJobRepository`` (whose chunk transaction it writes in).
public struct PostgresItemWriter<Item>: ItemWriter {
    private let table: String
    private let tableName: String
    private let columns: [String]
    private let quotedColumns: [String]
    private let values: @Sendable (Item) throws -> [PostgresValue?]
    private var arrayTypes: [UInt32]?

    /// Creates a writer.
    ///
    /// - Parameters:
    ///   - table: the table, optionally schema-qualified (`ledger`, `accounting.ledger`).
    ///   - columns: the columns to fill, in the order `values` returns them.
    ///   - values: an item's values for those columns (nil is NULL).
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a bad table or column name.
    public init(
        table: String, columns: [String], values: @escaping @Sendable (Item) throws -> [PostgresValue?]
    ) throws {
        self.tableName = table
        self.table = try PostgresIdentifier.quoted(table, what: "table")
        self.columns = columns
        self.quotedColumns = try columns.map { try PostgresIdentifier.quoted($0, what: "column") }
        guard !columns.isEmpty, Set(columns).count == columns.count else {
            throw PostgresError(.invalidConfiguration, "PostgresItemWriter needs distinct columns for \(table)")
        }
        self.values = values
    }

    /// Inserts the items on the chunk transaction's connection.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when the step's repository is not
    ///   PostgreSQL; ``PostgresError`` when the insert fails (the chunk then rolls back).
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        guard let transaction = transaction as? PostgresChunkTransaction else {
            throw BatchError(
                .invalidState,
                "PostgresItemWriter writes inside a PostgresJobRepository chunk transaction, but this step's "
                    + "repository gave a \(type(of: transaction)); run the job with a PostgresJobRepository")
        }
        guard !items.isEmpty else { return }
        let connection = transaction.connection
        let types = try await columnArrayTypes(on: connection)
        var arrays = (0..<columns.count).map { _ in PostgresArrayLiteral(capacity: items.count * 16) }
        for (index, item) in items.enumerated() {
            let row = try values(item)
            guard row.count == columns.count else {
                throw PostgresError(
                    .invalidParameter,
                    "PostgresItemWriter for \(tableName): item \(index) has \(row.count) values for "
                        + "\(columns.count) columns")
            }
            for column in 0..<row.count {
                try arrays[column].append(row[column], position: column + 1)
            }
        }
        let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        try await connection.query(
            "INSERT INTO \(table) (\(quotedColumns.joined(separator: ", "))) SELECT * FROM unnest(\(placeholders))",
            encoded: zip(types, arrays).map { (type: $0, text: $1.literal) })
    }

    /// The array type of each column, from the catalog (looked up once per writer).
    private mutating func columnArrayTypes(on connection: PostgresConnection) async throws -> [UInt32] {
        if let arrayTypes { return arrayTypes }
        let rows = try await connection.query(
            """
            SELECT a.attname, t.typarray FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
             WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
            """, [.text(table)])
        var byName: [String: UInt32] = [:]
        for row in rows {
            byName[try row.decode("attname")] = UInt32(try row.decode("typarray", as: Int64.self))
        }
        let types = try columns.map { column in
            guard let type = byName[column] else {
                throw PostgresError(.invalidConfiguration, "table \(tableName) has no column '\(column)'")
            }
            guard type != 0 else {
                throw PostgresError(
                    .invalidConfiguration, "column '\(column)' of \(tableName) has a type without an array type")
            }
            return type
        }
        arrayTypes = types
        return types
    }
}
