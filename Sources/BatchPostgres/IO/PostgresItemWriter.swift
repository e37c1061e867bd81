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
    private var mapping: PostgresRowMapping<Item>
    private var insertStatement: String?
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
        try self.init(
            table: table, rowsPerStatement: rowsPerStatement,
            mapping: try PostgresRowMapping(
                writer: "PostgresItemWriter", table: table, columns: columns, values: values))
    }

    /// Creates a writer of `Encodable` items, each coding key filling the column of its name: no values to list by
    /// hand, and the order of the item's properties does not matter.
    ///
    /// `Bool`, integers, `Float`, `Double` and `String` fill columns of their types; `Decimal` a `numeric`, `Date` a
    /// `timestamptz`, ``CalendarDay`` a `date`, `UUID` a `uuid`, `Data` a `bytea`; a nested struct, array or
    /// dictionary (or a ``JSONValue``) a `jsonb`; nil is NULL. A value PostgreSQL can convert (a `String` into a
    /// `uuid` column, an `Int` into a `numeric` one) is converted by the column type's input function.
    /// ```swift
    /// struct Entry: Encodable { var account: Int; var amount: Decimal; var bookedOn: CalendarDay }
    /// try PostgresItemWriter<Entry>(table: "ledger", naming: .snakeCase)   // account, amount, booked_on
    /// ```
    ///
    /// - Parameters:
    ///   - table: the table, optionally schema-qualified (`ledger`, `accounting.ledger`).
    ///   - columns: the columns to fill; the item's other keys are left out. Nil (the default) fills a column for
    ///     every key of the first item written.
    ///   - naming: how a coding key becomes a column name (default: as it is).
    ///   - rowsPerStatement: a chunk is sent in inserts of at most this many rows (default 125).
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a bad table or column name.
    ///   Writing throws ``PostgresError/Code/invalidConfiguration`` when the table lacks a column, and
    ///   ``PostgresError/Code/invalidParameter`` when an item has no key for one of `columns`.
    public init(
        table: String, columns: [String]? = nil, naming: PostgresColumnNaming = .codingKeys,
        rowsPerStatement: Int = 125
    ) throws where Item: Encodable {
        try self.init(
            table: table, rowsPerStatement: rowsPerStatement,
            mapping: try PostgresRowMapping(
                writer: "PostgresItemWriter", table: table, columns: columns, naming: naming))
    }

    private init(table: String, rowsPerStatement: Int, mapping: PostgresRowMapping<Item>) throws {
        self.rowsPerStatement = max(1, rowsPerStatement)
        self.table = try PostgresIdentifier.quoted(table, what: "table")
        self.tableName = table
        self.mapping = mapping
    }

    /// Inserts the items on the chunk transaction's connection.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when the step's repository is not
    ///   PostgreSQL; ``PostgresError`` when the insert fails (the chunk then rolls back).
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        let connection = try PostgresChunkTransaction.of(transaction, writer: "PostgresItemWriter").connection
        guard let first = items.first else { return }
        let columns = try mapping.settleColumns(from: first)
        let types = try await columnTypes(columns, on: connection)
        let statement = try insertStatement(columns)
        // Parts go out pipelined: the server inserts one while the next is encoded.
        var start = 0
        while start < items.count {
            let end = min(items.count, start + rowsPerStatement)
            try await connection.pipelineSend(
                statement, try encode(items[start..<end], columns, types, first: start), prepared: true)
            start = end
        }
    }

    /// `INSERT INTO table (columns) SELECT * FROM unnest($1, $2, ...)`, built once.
    private mutating func insertStatement(_ columns: [String]) throws -> String {
        if let insertStatement { return insertStatement }
        let quotedColumns = try columns.map { try PostgresIdentifier.quoted($0, what: "column") }
        let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        let statement =
            "INSERT INTO \(table) (\(quotedColumns.joined(separator: ", "))) SELECT * FROM unnest(\(placeholders))"
        insertStatement = statement
        return statement
    }

    /// One column array parameter per column for `items`.
    private func encode(
        _ items: ArraySlice<Item>, _ columns: [String], _ types: [PostgresColumnArray.ColumnType], first: Int
    ) throws -> [PostgresEncodedParameter?] {
        var byColumn = [[PostgresValue?]](repeating: [], count: columns.count)
        for index in byColumn.indices { byColumn[index].reserveCapacity(items.count) }
        for (index, item) in items.enumerated() {
            let row = try mapping.values(of: item, index: first + index)
            for (column, value) in row.enumerated() { byColumn[column].append(value) }
        }
        return try byColumn.enumerated().map { column, values in
            do {
                return try PostgresColumnArray.encode(values, as: types[column], column: column + 1)
            } catch var error as PostgresError {
                error.message = "\(mapping.context), column \(columns[column]): " + error.message
                throw error
            }
        }
    }

    /// Each column's type and array type, from the catalog (looked up once per writer).
    private mutating func columnTypes(
        _ columns: [String], on connection: PostgresConnection
    ) async throws -> [PostgresColumnArray.ColumnType] {
        if let columnTypes { return columnTypes }
        let types = try await mapping.prefixed {
            try await PostgresColumnArray.lookUpTypes(
                table: table, tableName: tableName, columns: columns, on: connection)
        }
        for (column, type) in zip(columns, types) where type.arrayOID == 0 {
            throw PostgresError(
                .invalidConfiguration, "column '\(column)' of \(tableName) has a type without an array type")
        }
        columnTypes = types
        return types
    }
}
