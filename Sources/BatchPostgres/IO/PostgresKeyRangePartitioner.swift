import Batch

/// Splits the integer key column of a table into contiguous key ranges, one partition each, for
/// ``PostgresKeyRangeReader`` to read.
///
/// By default (``Split/evenKeys``) the ranges split `min(key)…max(key)` (one `SELECT min, max` — an index lookup
/// each with an index on the key) into equal spans of key values, as ``IntegerRangePartitioner`` does — not into
/// equal numbers of rows: with keys spread evenly (a sequence) the partitions hold about as many rows each; with gaps
/// or clusters they may not. ``Split/evenRows`` cuts at the keys' percentiles instead (`percentile_disc`, which
/// reads and sorts every key once), so each range holds about as many rows whatever the keys' spread. The ranges
/// cover `min…max` either way, so the partitions together read every row. An empty table makes **no** partitions
/// (the step completes at once); fewer distinct key values than partitions make fewer partitions. Each partition's context holds its bounds under ``IntegerRangePartitioner/firstKey``
/// and ``IntegerRangePartitioner/lastKey``, read back with ``IntegerRangePartitioner/bounds(in:)-(StepContext)``.
///
/// The table and column names are configuration, checked and double-quoted (`name` or `schema.name`, letters,
/// digits and underscores); the key must be `smallint`, `integer` or `bigint`.
///
/// ```swift
/// PartitionStep("settle", partitions: 8,
///               partitioner: PostgresKeyRangePartitioner(table: "ledger.accounts", keyColumn: "id") { context in
///                   try await context.resource(Ledger.self)
///               },
///               step: ChunkStep("settle-range", chunkSize: 500,
///                               reader: { context in
///                                   PostgresKeyRangeReader<Account>(
///                                       pool: try await context.resource(Ledger.self), table: "ledger.accounts",
///                                       keyColumn: "id", range: try IntegerRangePartitioner.bounds(in: context)
///                                   ) { row in Account(id: try row.decode("id"), balance: try row.decode("balance")) }
///                               },
///                               writer: { _ in settlementWriter }))
/// ```
public struct PostgresKeyRangePartitioner: Partitioner {
    /// How the key range is cut.
    public enum Split: Sendable, Hashable {
        /// Into equal spans of key values between the smallest and the largest key (cheap: two index lookups).
        case evenKeys
        /// At the keys' percentiles, into ranges of about equal numbers of rows (reads and sorts every key once).
        case evenRows
    }

    /// The table (`name` or `schema.name`).
    public let table: String
    /// The integer key column.
    public let keyColumn: String
    /// The prefix of the partitions' names.
    public let prefix: String
    /// How the key range is cut.
    public let split: Split
    private let pool: @Sendable (StepContext) async throws -> PostgresConnectionPool

    /// Creates a partitioner reading the key bounds through `pool`.
    /// - Parameters:
    ///   - pool: where the table is.
    ///   - table: the table, `name` or `schema.name`.
    ///   - keyColumn: its integer key column.
    ///   - prefix: the prefix of the partitions' names (no `:`).
    ///   - split: equal spans of keys (the default) or of rows.
    public init(
        pool: PostgresConnectionPool, table: String, keyColumn: String, prefix: String = "keys",
        split: Split = .evenKeys
    ) {
        self.init(table: table, keyColumn: keyColumn, prefix: prefix, split: split) { _ in pool }
    }

    /// Creates a partitioner whose pool is found when the step starts (an application resource, typically).
    /// - Parameters:
    ///   - table: the table, `name` or `schema.name`.
    ///   - keyColumn: its integer key column.
    ///   - prefix: the prefix of the partitions' names (no `:`).
    ///   - split: equal spans of keys (the default) or of rows.
    ///   - pool: the pool the table is reached through.
    public init(
        table: String, keyColumn: String, prefix: String = "keys", split: Split = .evenKeys,
        pool: @escaping @Sendable (StepContext) async throws -> PostgresConnectionPool
    ) {
        self.table = table
        self.keyColumn = keyColumn
        self.prefix = prefix
        self.split = split
        self.pool = pool
    }

    /// The partitions: at most `gridSize` key ranges covering `min(key)…max(key)`, none for an empty table.
    /// - Throws: ``PostgresError`` for a name that is not allowed, a key that is not an integer, or a failed query.
    public func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        let ranges = try await keyRanges(count: gridSize, pool: try await pool(context))
        var partitions: [String: ExecutionContext] = [:]
        let width = String(max(ranges.count - 1, 0)).count
        for (index, range) in ranges.enumerated() {
            let number = String(index)
            partitions["\(prefix)-\(String(repeating: "0", count: width - number.count))\(number)"] = ExecutionContext([
                IntegerRangePartitioner.firstKey: .int(range.lowerBound),
                IntegerRangePartitioner.lastKey: .int(range.upperBound),
            ])
        }
        return partitions
    }

    /// The key ranges for `count` partitions, in order, covering the smallest key to the largest; none for an empty
    /// table.
    /// - Throws: ``PostgresError`` for a name that is not allowed, a key that is not an integer, or a failed query.
    public func keyRanges(count: Int, pool: PostgresConnectionPool) async throws -> [ClosedRange<Int64>] {
        guard let bounds = try await keyBounds(pool: pool) else { return [] }
        switch split {
        case .evenKeys:
            return IntegerRangePartitioner.split(bounds, into: count)
        case .evenRows:
            let count = max(1, min(count, 100_000))
            let fractions = (1..<count).map { String(Double($0) / Double(count)) }.joined(separator: ",")
            let table = try PostgresIdentifier.quoted(self.table, what: "table")
            let key = try PostgresIdentifier.quoted(keyColumn, what: "key column")
            let sql =
                "SELECT unnest(percentile_disc(string_to_array($1, ',')::float8[]) WITHIN GROUP (ORDER BY \(key))) "
                + "AS cut FROM \(table)"
            let rows: [PostgresRow] =
                count == 1 ? [] : Array(try await pool.withConnection { try await $0.query(sql, [.text(fractions)]) })
            return Self.ranges(bounds, cuts: try rows.compactMap { try $0.decode("cut", as: Int64?.self) })
        }
    }

    /// The ranges from `bounds`' lower end to its upper end, each starting at a cut and ending before the next;
    /// equal cuts (few keys) make one range. Cuts outside `bounds` are left out: they come from another snapshot
    /// than the bounds (rows written or deleted in between), and would make a range end before it starts.
    static func ranges(_ bounds: ClosedRange<Int64>, cuts: [Int64]) -> [ClosedRange<Int64>] {
        var starts = [bounds.lowerBound]
        for cut in cuts where cut > starts[starts.count - 1] && cut <= bounds.upperBound {
            starts.append(cut)
        }
        return starts.indices.map { index in
            starts[index]...(index + 1 < starts.count ? starts[index + 1] - 1 : bounds.upperBound)
        }
    }

    /// The smallest and largest key of the table, nil when it has no rows (or only NULL keys).
    /// - Throws: ``PostgresError`` for a name that is not allowed, a key that is not an integer, or a failed query.
    public func keyBounds(pool: PostgresConnectionPool) async throws -> ClosedRange<Int64>? {
        let table = try PostgresIdentifier.quoted(self.table, what: "table")
        let key = try PostgresIdentifier.quoted(keyColumn, what: "key column")
        let sql = "SELECT min(\(key)) AS low, max(\(key)) AS high, pg_typeof(min(\(key)))::text AS type FROM \(table)"
        let row = try await pool.withConnection { try await $0.query(sql) }.single()
        let type = try row.text("type") ?? ""
        guard ["smallint", "integer", "bigint"].contains(type) else {
            throw PostgresError(
                .invalidConfiguration,
                "the key column \(key) of \(table) is \(type), not an integer (smallint, integer or bigint): it "
                    + "cannot be split into key ranges")
        }
        guard let low = try row.decode("low", as: Int64?.self), let high = try row.decode("high", as: Int64?.self)
        else { return nil }
        return low...high
    }
}
