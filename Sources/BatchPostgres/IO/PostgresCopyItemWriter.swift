import Batch

/// Loads a chunk's items into a table with `COPY table (columns) FROM STDIN` inside the chunk's transaction, so
/// they commit together with the step's counters and context: a restart neither loses nor repeats a row.
///
/// The fastest way into PostgreSQL for large chunks: `COPY` fills table pages several rows at a time, where an
/// `INSERT` adds them one by one. Rows go in PostgreSQL's binary COPY format when every column's type has a binary
/// encoding here (integers, `float8`, `bool`, `text`, `varchar`, `json`, `jsonb`, `timestamptz`, `date`, `uuid`,
/// `bytea`), which the server reads without parsing text; otherwise (a `numeric` column, say, or a value that does
/// not fit its column) the chunk goes in the text format, read by each column type's input function. No value is ever
/// spliced into SQL.
///
/// ```swift
/// ChunkStep("load-entries", chunkSize: 1_000, reader: { _ in try CSVReader<Entry>(path: path) }, writer: { _ in
///     try PostgresCopyItemWriter<Entry>(table: "ledger", columns: ["id", "account", "amount"]) { entry in
///         [.int(entry.id), .text(entry.account), .int(entry.amount)]
///     }
/// })
/// ```
/// `Encodable` items need no closure: ``init(table:columns:naming:rowsPerStatement:format:pool:)`` fills each column
/// from the coding key of its name, as ``PostgresItemWriter`` does.
///
/// **Transactions.** The chunk's `BEGIN` and its `COPY` statements go out in one message; libpq runs no `COPY` in
/// pipeline mode, so a chunk costs three round trips (start the copy, end it, commit) where the
/// ``PostgresItemWriter`` needs one. A refused row fails the whole `COPY`: the chunk rolls back, and a skip policy
/// then writes the items one by one, each after a savepoint, to leave the bad one out.
///
/// It writes in the chunk transaction of a ``PostgresJobRepository``. Given the application's own pool (`pool:`), it
/// also runs with another repository (the ``InMemoryJobRepository`` of `run --in-memory`) or one on another
/// database, each chunk then copied in a transaction of its own: see
/// ``init(table:columns:rowsPerStatement:format:pool:values:)``. The column types come from the catalog, looked up
/// once per writer.
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
    private var mapping: PostgresRowMapping<Item>
    /// The most rows per `COPY` statement, or nil for ``automaticStatementRows(chunk:)``'s choice.
    private let rowsPerStatement: Int?
    private let format: Format
    /// How chunks are encoded, settled by the first chunk written (its columns and their types).
    private var encoding: PostgresCopyEncoding<Item>?
    private let target: PostgresWriteConnection

    /// Creates a writer.
    ///
    /// - Parameters:
    ///   - table: the table, optionally schema-qualified (`ledger`, `accounting.ledger`).
    ///   - columns: the columns to fill, in the order `values` returns them.
    ///   - rowsPerStatement: a chunk is copied in `COPY` statements of at most this many rows, all sent in one
    ///     message; nil (the default) chooses by the chunk's size: see ``automaticStatementRows(chunk:)``.
    ///   - format: ``Format/automatic`` (binary where possible) or ``Format/text``.
    ///   - pool: the application's pool to the table's database, or nil (the default) to copy only inside a
    ///     PostgreSQL repository's chunk transaction. When the chunk transaction is a ``PostgresChunkTransaction`` on
    ///     this pool's database (same host, port and database name), the rows still go in it and commit with the
    ///     chunk, exactly once. Otherwise (an ``InMemoryJobRepository``, a repository on another database) each
    ///     chunk is copied in a transaction of its own on the pool, committed just before the chunk's checkpoint:
    ///     a crash between the two can copy a chunk twice when the job restarts from the previous checkpoint (an
    ///     in-memory repository restarts nothing across processes); in a step reading ahead, whose next chunk is
    ///     written while the previous one's checkpoint commits, up to two chunks. A unique key on the table turns
    ///     such a repeat into a failed chunk instead of duplicate rows.
    ///   - values: an item's values for those columns (nil is NULL). In a step reading ahead it runs for the next
    ///     chunk (in the read-ahead task) while the current chunk is written.
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a bad table or column name.
    public init(
        table: String, columns: [String], rowsPerStatement: Int? = nil, format: Format = .automatic,
        pool: PostgresConnectionPool? = nil, values: @escaping @Sendable (Item) throws -> [PostgresValue?]
    ) throws {
        try self.init(
            table: table, rowsPerStatement: rowsPerStatement, format: format, pool: pool,
            mapping: try PostgresRowMapping(
                writer: "PostgresCopyItemWriter", table: table, columns: columns, values: values))
    }

    /// Creates a writer of `Encodable` items, each coding key filling the column of its name, the values mapped as
    /// ``PostgresItemWriter/init(table:columns:naming:rowsPerStatement:pool:)`` maps them.
    ///
    /// - Parameters:
    ///   - table: the table, optionally schema-qualified (`ledger`, `accounting.ledger`).
    ///   - columns: the columns to fill; the item's other keys are left out. Nil (the default) fills a column for
    ///     every key of the first item written.
    ///   - naming: how a coding key becomes a column name (default: as it is).
    ///   - rowsPerStatement: a chunk is copied in `COPY` statements of at most this many rows; nil (the default)
    ///     chooses by the chunk's size (``automaticStatementRows(chunk:)``).
    ///   - format: ``Format/automatic`` (binary where possible) or ``Format/text``.
    ///   - pool: the application's pool to the table's database, or nil (the default) to copy only inside a
    ///     PostgreSQL repository's chunk transaction; as in
    ///     ``init(table:columns:rowsPerStatement:format:pool:values:)``.
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a bad table or column name.
    public init(
        table: String, columns: [String]? = nil, naming: PostgresColumnNaming = .codingKeys,
        rowsPerStatement: Int? = nil, format: Format = .automatic, pool: PostgresConnectionPool? = nil
    ) throws where Item: Encodable {
        try self.init(
            table: table, rowsPerStatement: rowsPerStatement, format: format, pool: pool,
            mapping: try PostgresRowMapping(
                writer: "PostgresCopyItemWriter", table: table, columns: columns, naming: naming))
    }

    private init(
        table: String, rowsPerStatement: Int?, format: Format, pool: PostgresConnectionPool?,
        mapping: PostgresRowMapping<Item>
    ) throws {
        self.target = PostgresWriteConnection(writer: "PostgresCopyItemWriter", pool: pool)
        self.tableName = table
        self.quotedTable = try PostgresIdentifier.quoted(table, what: "table")
        self.mapping = mapping
        self.rowsPerStatement = rowsPerStatement.map { max(1, $0) }
        self.format = format
    }

    /// Copies the items on the chunk transaction's connection, or in a transaction of their own on the pool given
    /// to the initializer when the chunk transaction is not a PostgreSQL one on its database.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when the step's repository is not
    ///   PostgreSQL and no pool was given; ``PostgresError`` when the copy fails (the chunk then rolls back).
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        let target = self.target
        guard !items.isEmpty else { return try target.check(transaction) }
        try await target.write(in: transaction) { connection, _ in
            let encoding = try await settledEncoding(first: items[0], on: connection)
            try await copy(encoding.encode(items), encoding, on: connection)
        }
    }

    /// Encodes chunks once the first chunk written settled the columns and their types: a step reading ahead then
    /// encodes the next chunk while the previous one is copied and committed.
    public func preparation() -> ChunkPreparation<Item>? {
        guard let encoding else { return nil }
        return ChunkPreparation { items in try encoding.encode(items) }
    }

    /// Copies the items as ``write(_:in:)`` does, their rows already encoded by ``preparation()``.
    public mutating func write(
        _ items: [Item], prepared: PreparedChunk, in transaction: any ChunkTransaction
    ) async throws {
        guard let encoding, prepared.count == items.count,
            let encoded = prepared.value as? PostgresCopyEncoding<Item>.Encoded
        else {
            return try await write(items, in: transaction)
        }
        try await target.write(in: transaction) { connection, _ in try await copy(encoded, encoding, on: connection) }
    }

    /// Sends the encoded rows on `connection`.
    private func copy(
        _ encoded: PostgresCopyEncoding<Item>.Encoded, _ encoding: PostgresCopyEncoding<Item>,
        on connection: PostgresConnection
    ) async throws {
        let statement = encoded.binary ? encoding.statements.binary : encoding.statements.text
        try await mapping.prefixed { try await connection.copyIn(statement, pieces: encoded.pieces) }
    }

    /// The encoding, settled from the first item and the catalog the first time.
    private mutating func settledEncoding(
        first: Item, on connection: PostgresConnection
    ) async throws -> PostgresCopyEncoding<Item> {
        if let encoding { return encoding }
        let columns = try mapping.settleColumns(from: first)
        let types = try await mapping.prefixed {
            try await PostgresColumnArray.lookUpTypes(
                table: quotedTable, tableName: tableName, columns: columns, on: connection)
        }.map(\.elementOID)
        let quotedColumns = try columns.map { try PostgresIdentifier.quoted($0, what: "column") }
        let into = "\(quotedTable) (\(quotedColumns.joined(separator: ", ")))"
        let settled = PostgresCopyEncoding(
            mapping: mapping, columns: columns, types: types,
            binary: format == .automatic && types.allSatisfy(PostgresColumnArray.binaryTypes.contains),
            rowsPerStatement: rowsPerStatement,
            statements: (binary: "COPY \(into) FROM STDIN WITH (FORMAT binary)", text: "COPY \(into) FROM STDIN"))
        encoding = settled
        return settled
    }

    /// The rows per `COPY` statement for a chunk of `chunk` items when none was given: 500 for chunks of up to 1,000
    /// rows, the whole chunk in one statement above.
    ///
    /// Two costs pull apart. Each statement costs a round trip, since libpq sends a statement's rows only once the
    /// server asked for them; and PostgreSQL 15 spends time growing with the square of the rows a `COPY` buffers
    /// (up to 1,000) on their tuple slots. Measured on chunks of 1,000 rows, two 500-row statements loaded faster
    /// than four of 250 or one of 1,000; on chunks of 10,000, one statement took half the time of forty 250-row ones
    /// (`PostgresBenchmarks` with `BENCH_ROWS_PER_STATEMENT`).
    public static func automaticStatementRows(chunk: Int) -> Int {
        chunk <= 1_000 ? 500 : max(1, chunk)
    }
}
