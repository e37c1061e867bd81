import Batch

/// Reads the rows of a query page by page, by key (keyset paging), and keeps the key of the last item read in the
/// step's execution context, so a restart resumes right after the last committed chunk.
///
/// The query receives the last key read as `$1` (exclusive) and the page size as `$2`; further parameters are `$3`
/// onwards. It must order by the key and select it:
/// ```swift
/// PostgresItemReader<Entry>(
///     pool: pool, query: "SELECT id, account, amount FROM entries WHERE id > $1 ORDER BY id LIMIT $2",
///     keyColumn: "id", startAfter: .int(0)
/// ) { row in Entry(account: try row.decode("account"), amount: try row.decode("amount")) }
/// ```
/// Each page is one statement on a pooled connection, outside the chunk's transaction.
public struct PostgresItemReader<Item>: ItemReader {
    private let pool: PostgresConnectionPool
    private let query: String
    private let parameters: [PostgresValue?]
    private let keyColumn: String
    private let startAfter: PostgresValue
    private let pageSize: Int
    private let contextKey: String
    private let decode: @Sendable (PostgresRow) throws -> Item
    private var pages = KeysetPages<String, Item>()

    /// Creates a reader.
    ///
    /// - Parameters:
    ///   - pool: where to read from.
    ///   - query: the page query: `$1` is the last key read, `$2` the page size, then `parameters`.
    ///   - parameters: further parameters, `$3` onwards.
    ///   - keyColumn: the column holding the (unique, ordered) key.
    ///   - startAfter: the key below the first row (`.int(0)`, `.text("")`, ...).
    ///   - pageSize: rows per page, at least 1.
    ///   - name: distinguishes this reader's entry in the step context (`"<name>.lastKey"`).
    ///   - decode: makes an item from a row.
    public init(
        pool: PostgresConnectionPool, query: String, parameters: [PostgresValue?] = [], keyColumn: String,
        startAfter: PostgresValue, pageSize: Int = 1_000, name: String = "reader",
        decode: @escaping @Sendable (PostgresRow) throws -> Item
    ) {
        self.pool = pool
        self.query = query
        self.parameters = parameters
        self.keyColumn = keyColumn
        self.startAfter = startAfter
        self.pageSize = max(1, pageSize)
        self.contextKey = name + ".lastKey"
        self.decode = decode
    }

    /// Resumes after the key saved in `context`, if any.
    public mutating func open(_ context: ExecutionContext) async throws {
        pages = KeysetPages(after: context.string(contextKey))
    }

    /// The next item, fetching the next page when the current one is used up.
    public mutating func read() async throws -> Item? {
        let (pool, sql, parameters, keyColumn, startAfter, pageSize, decode) = (
            pool, query, parameters, keyColumn, startAfter, pageSize, decode
        )
        return try await pages.next { lastKey in
            let values = [lastKey.map { PostgresValue.text($0) } ?? startAfter, .int(pageSize)] + parameters
            let rows = try await pool.withConnection { connection in
                try await connection.query(sql, values, prepared: true)
            }
            var fetched: [(key: String, item: Item)] = []
            fetched.reserveCapacity(rows.count)
            for row in rows {
                guard let key = try row.text(keyColumn) else {
                    throw PostgresError(
                        .decoding, "the key column '\(keyColumn)' is NULL in a row of the reader's query")
                }
                fetched.append((key, try decode(row)))
            }
            return (fetched, rows.count < pageSize)
        }
    }

    /// Saves the key of the last item read.
    public func update(_ context: inout ExecutionContext) {
        if let lastKey = pages.lastKey { context[contextKey] = .string(lastKey) }
    }
}
