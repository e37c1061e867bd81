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
/// It writes in the chunk transaction of a ``PostgresJobRepository``. Given the application's own pool (`pool:`), it
/// also runs with another repository (the ``InMemoryJobRepository`` of `run --in-memory`) or one on another
/// database: see ``init(table:columns:rowsPerStatement:pool:values:)``.
public struct PostgresItemWriter<Item>: ItemWriter {
    private let table: String
    private let tableName: String
    private var mapping: PostgresRowMapping<Item>
    private var insertStatement: String?
    private var columnTypes: [PostgresColumnArray.ColumnType]?
    private let rowsPerStatement: Int
    private let target: PostgresWriteConnection

    /// Creates a writer.
    ///
    /// - Parameters:
    ///   - table: the table, optionally schema-qualified (`ledger`, `accounting.ledger`).
    ///   - columns: the columns to fill, in the order `values` returns them.
    ///   - rowsPerStatement: a chunk is sent in inserts of at most this many rows, pipelined so that the server
    ///     works on one while the next is encoded (default 125).
    ///   - pool: the application's pool to the table's database, or nil (the default) to write only inside a
    ///     PostgreSQL repository's chunk transaction. When the chunk transaction is a ``PostgresChunkTransaction`` on
    ///     this pool's database (same host, port and database name), the rows still go in it and commit with the
    ///     chunk, exactly once. Otherwise (an ``InMemoryJobRepository``, a repository on another database) each
    ///     chunk's rows go in a transaction of their own on the pool, committed just before the chunk's checkpoint:
    ///     a crash between the two can write a chunk twice when the job restarts from the previous checkpoint (an
    ///     in-memory repository restarts nothing across processes); in a step reading ahead, whose next chunk is
    ///     written while the previous one's checkpoint commits, up to two chunks. A unique key on the table turns
    ///     such a repeat into a failed chunk instead of duplicate rows.
    ///   - values: an item's values for those columns (nil is NULL).
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a bad table or column name.
    public init(
        table: String, columns: [String], rowsPerStatement: Int = 125, pool: PostgresConnectionPool? = nil,
        values: @escaping @Sendable (Item) throws -> [PostgresValue?]
    ) throws {
        try self.init(
            table: table, rowsPerStatement: rowsPerStatement, pool: pool,
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
    ///   - pool: the application's pool to the table's database, or nil (the default) to write only inside a
    ///     PostgreSQL repository's chunk transaction; as in ``init(table:columns:rowsPerStatement:pool:values:)``.
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a bad table or column name.
    ///   Writing throws ``PostgresError/Code/invalidConfiguration`` when the table lacks a column, and
    ///   ``PostgresError/Code/invalidParameter`` when an item has no key for one of `columns`.
    public init(
        table: String, columns: [String]? = nil, naming: PostgresColumnNaming = .codingKeys,
        rowsPerStatement: Int = 125, pool: PostgresConnectionPool? = nil
    ) throws where Item: Encodable {
        try self.init(
            table: table, rowsPerStatement: rowsPerStatement, pool: pool,
            mapping: try PostgresRowMapping(
                writer: "PostgresItemWriter", table: table, columns: columns, naming: naming))
    }

    private init(
        table: String, rowsPerStatement: Int, pool: PostgresConnectionPool?, mapping: PostgresRowMapping<Item>
    ) throws {
        self.rowsPerStatement = max(1, rowsPerStatement)
        self.target = PostgresWriteConnection(writer: "PostgresItemWriter", pool: pool)
        self.table = try PostgresIdentifier.quoted(table, what: "table")
        self.tableName = table
        self.mapping = mapping
    }

    /// Inserts the items on the chunk transaction's connection, or in a transaction of their own on the pool given
    /// to the initializer when the chunk transaction is not a PostgreSQL one on its database.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when the step's repository is not
    ///   PostgreSQL and no pool was given; ``PostgresError`` when the insert fails (the chunk then rolls back).
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        let target = self.target
        guard !items.isEmpty else { return try target.check(transaction) }
        try await target.write(in: transaction) { connection, _ in try await insert(items, on: connection) }
    }

    /// Sends the items' inserts on `connection`, pipelined; the transaction's commit reads their outcome.
    private mutating func insert(_ items: [Item], on connection: PostgresConnection) async throws {
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
        // Indices rather than `enumerated()`, whose (offset, item) tuple's metadata is looked up at each step.
        let values = mapping.valuesFunction()
        for index in items.indices {
            let row = try values(items[index], first + index - items.startIndex)
            for column in row.indices { byColumn[column].append(row[column]) }
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
