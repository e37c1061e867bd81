import Batch

/// Inserts a chunk's items into a table inside the chunk's transaction, so they commit together with the step's
/// counters and context (a restart neither loses nor repeats a row).
///
/// Rows go out as `INSERT INTO table (columns) SELECT * FROM unnest($1, $2, ...)`: each column travels as one array
/// parameter, in binary where its type allows (no value is ever spliced into SQL). A chunk is split into inserts of
/// `rowsPerStatement` rows sent in pipeline mode, so the server inserts one part while the next is encoded; they
/// commit with the chunk, in the same round trip as the step update. For chunks of hundreds or thousands of rows
/// this beats a `COPY` per chunk, whose per-statement cost on the server is higher. The column types come from the
/// catalog, looked up once per writer.
/// ```swift
/// ChunkStep("post-entries", chunkSize: 1_000, reader: { _ in entries }, writer: { _ in
///     try PostgresItemWriter<Entry>(table: "ledger", columns: ["account", "amount"]) { entry in
///         [.text(entry.account), .int(entry.amount)]
///     }
/// })
/// ```
/// It needs the step to run with a ``PostgresJobRepository`` (whose chunk transaction it writes in).
public struct PostgresItemWriter<Item>: ItemWriter {
    private let table: String
    private let tableName: String
    private let columns: [String]
    private let insertStatement: String
    private let values: @Sendable (Item) throws -> [PostgresValue?]
    private var columnTypes: [PostgresColumnArray.ColumnType]?
    private let rowsPerStatement: Int

    /// Creates a writer.
    ///
    /// - Parameters:
    ///   - table: the table, optionally schema-qualified (`ledger`, `accounting.ledger`).
    ///   - columns: the columns to fill, in the order `values` returns them.
    ///   - rowsPerStatement: a chunk is sent in inserts of at most this many rows, pipelined so that the server
    ///     works on one while the next is encoded (default 125).
    ///   - values: an item's values for those columns (nil is NULL).
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a bad table or column name.
    public init(
        table: String, columns: [String], rowsPerStatement: Int = 125,
        values: @escaping @Sendable (Item) throws -> [PostgresValue?]
    ) throws {
        self.rowsPerStatement = max(1, rowsPerStatement)
        let quotedTable = try PostgresIdentifier.quoted(table, what: "table")
        let quotedColumns = try columns.map { try PostgresIdentifier.quoted($0, what: "column") }
        guard !columns.isEmpty, Set(columns).count == columns.count else {
            throw PostgresError(.invalidConfiguration, "PostgresItemWriter needs distinct columns for \(table)")
        }
        self.table = quotedTable
        self.tableName = table
        self.columns = columns
        let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        self.insertStatement =
            "INSERT INTO \(quotedTable) (\(quotedColumns.joined(separator: ", "))) SELECT * FROM unnest(\(placeholders))"
        self.values = values
    }

    /// Inserts the items on the chunk transaction's connection.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when the step's repository is not
    ///   PostgreSQL; ``PostgresError`` when the insert fails (the chunk then rolls back).
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        let connection = try PostgresChunkTransaction.of(transaction, writer: "PostgresItemWriter").connection
        guard !items.isEmpty else { return }
        let types = try await columnTypes(on: connection)
        // Parts go out pipelined: the server inserts one while the next is encoded.
        var start = 0
        while start < items.count {
            let end = min(items.count, start + rowsPerStatement)
            try await connection.pipelineSend(
                insertStatement, try encode(items[start..<end], types, first: start), prepared: true)
            start = end
        }
    }

    /// One column array parameter per column for `items`.
    private func encode(
        _ items: ArraySlice<Item>, _ types: [PostgresColumnArray.ColumnType], first: Int
    ) throws -> [PostgresEncodedParameter?] {
        var byColumn = [[PostgresValue?]](repeating: [], count: columns.count)
        for index in byColumn.indices { byColumn[index].reserveCapacity(items.count) }
        for (index, item) in items.enumerated() {
            let row = try values(item)
            guard row.count == columns.count else {
                throw PostgresError(
                    .invalidParameter,
                    "PostgresItemWriter for \(tableName): item \(first + index) has \(row.count) values for "
                        + "\(columns.count) columns")
            }
            for (column, value) in row.enumerated() { byColumn[column].append(value) }
        }
        return try byColumn.enumerated().map { column, values in
            do {
                return try PostgresColumnArray.encode(values, as: types[column], column: column + 1)
            } catch var error as PostgresError {
                error.message = "PostgresItemWriter for \(tableName), column \(columns[column]): " + error.message
                throw error
            }
        }
    }

    /// Each column's type and array type, from the catalog (looked up once per writer).
    private mutating func columnTypes(
        on connection: PostgresConnection
    ) async throws
        -> [PostgresColumnArray.ColumnType]
    {
        if let columnTypes { return columnTypes }
        let types = try await PostgresColumnArray.lookUpTypes(
            table: table, tableName: tableName, columns: columns, on: connection)
        for (column, type) in zip(columns, types) where type.arrayOID == 0 {
            throw PostgresError(
                .invalidConfiguration, "column '\(column)' of \(tableName) has a type without an array type")
        }
        columnTypes = types
        return types
    }
}
