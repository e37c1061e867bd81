import Batch

/// Reads the rows of a table whose integer key lies in a closed range, in key order, page by page (keyset paging:
/// each page is `WHERE key >= $1 AND key <= $2 ORDER BY key LIMIT $3`, an index range scan with an index on the
/// key). It keeps the last key read in the step context (`<name>.lastKey`), so a restarted step resumes right after
/// the last committed chunk. The reader of a ``PostgresKeyRangePartitioner`` partition:
///
/// ```swift
/// reader: { context in
///     PostgresKeyRangeReader<Account>(
///         pool: try await context.resource(Ledger.self), table: "ledger.accounts", keyColumn: "id",
///         columns: ["id", "balance"], range: try IntegerRangePartitioner.bounds(in: context)
///     ) { row in Account(id: try row.decode("id"), balance: try row.decode("balance")) }
/// }
/// ```
///
/// The key must be unique (a primary key): rows sharing a key with the last row of a page would be missed. Names
/// are configuration, checked and double-quoted; the bounds and page size go as parameters. Each page is one
/// statement on a pooled connection, outside the chunk's transaction.
public struct PostgresKeyRangeReader<Item>: ItemReader {
    private let pool: PostgresConnectionPool
    private let table: String
    private let keyColumn: String
    private let columns: [String]?
    private let range: ClosedRange<Int64>
    private let pageSize: Int
    private let contextKey: String
    private let decode: @Sendable (PostgresRow) throws -> Item
    private var sql = ""
    private var pages = KeysetPages<Int64, Item>()

    /// Creates a reader.
    /// - Parameters:
    ///   - pool: where the table is.
    ///   - table: the table, `name` or `schema.name`.
    ///   - keyColumn: its unique integer key column.
    ///   - columns: the columns to select (the key is added when missing); nil selects all.
    ///   - range: the keys to read, both bounds included.
    ///   - pageSize: rows per page, at least 1.
    ///   - name: distinguishes this reader's entry in the step context (`"<name>.lastKey"`).
    ///   - decode: makes an item from a row.
    public init(
        pool: PostgresConnectionPool, table: String, keyColumn: String, columns: [String]? = nil,
        range: ClosedRange<Int64>, pageSize: Int = 1_000, name: String = "reader",
        decode: @escaping @Sendable (PostgresRow) throws -> Item
    ) {
        self.pool = pool
        self.table = table
        self.keyColumn = keyColumn
        self.columns = columns
        self.range = range
        self.pageSize = max(1, pageSize)
        self.contextKey = name + ".lastKey"
        self.decode = decode
    }

    /// Checks the names and resumes after the key saved in `context`, if any.
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` for a name that is not allowed.
    public mutating func open(_ context: ExecutionContext) async throws {
        let table = try PostgresIdentifier.quoted(self.table, what: "table")
        let key = try PostgresIdentifier.quoted(keyColumn, what: "key column")
        let selected = try columns.map { names in
            try names.map { try PostgresIdentifier.quoted($0, what: "column") }.joined(separator: ", ")
        }
        // The key first, so it is read by position whatever the columns are called.
        sql =
            "SELECT \(key)\(selected.map { ", " + $0 } ?? ", *") FROM \(table) "
            + "WHERE \(key) >= $1 AND \(key) <= $2 ORDER BY \(key) LIMIT $3"
        let lastKey = context[contextKey]?.intValue
        pages = KeysetPages(after: lastKey, exhausted: lastKey.map { $0 >= range.upperBound } ?? false)
    }

    /// The next item, fetching the next page when the current one is used up; nil after the range's last row.
    /// - Throws: ``PostgresError`` for a failed query, a NULL key, or what `decode` throws.
    public mutating func read() async throws -> Item? {
        let (pool, sql, range, pageSize, decode) = (pool, sql, range, pageSize, decode)
        return try await pages.next { lastKey in
            // After the last key read (below the upper bound, or the reader would be exhausted), else from the start.
            let from = lastKey.map { max($0 + 1, range.lowerBound) } ?? range.lowerBound
            let values: [PostgresValue?] = [.int(from), .int(range.upperBound), .int(Int64(pageSize))]
            let rows = try await pool.withConnection { connection in
                try await connection.query(sql, values, prepared: true)
            }
            var fetched: [(key: Int64, item: Item)] = []
            fetched.reserveCapacity(rows.count)
            for row in rows {
                fetched.append((try row.decode(at: 0, as: Int64.self), try decode(row)))
            }
            return (fetched, rows.count < pageSize || fetched.last.map { $0.key >= range.upperBound } ?? true)
        }
    }

    /// Saves the key of the last item read.
    public func update(_ context: inout ExecutionContext) {
        if let lastKey = pages.lastKey { context[contextKey] = .int(lastKey) }
    }
}
