import Batch
import BatchPostgres

/// Inserts a demo job's rows: inside the chunk transaction when the job repository is PostgreSQL (the demo
/// database is then the repository's, and the rows commit with the chunk), else — `run --in-memory` — on the demo
/// database's own pool, in a transaction of its own committed just before the in-memory chunk commit.
struct DemoTableWriter<Item: Sendable>: ItemWriter {
    private var inChunk: PostgresItemWriter<Item>
    private let pool: PostgresConnectionPool
    private let insert: String
    private let values: @Sendable (Item) throws -> [PostgresValue?]

    init(
        table: String, columns: [String], pool: PostgresConnectionPool,
        values: @escaping @Sendable (Item) throws -> [PostgresValue?]
    ) throws {
        self.inChunk = try PostgresItemWriter(table: table, columns: columns, values: values)
        self.pool = pool
        self.values = values
        // `table` and `columns` are the demo's own constants (the schema name is checked in DemoJobs.schema).
        let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        self.insert = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
    }

    mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        if transaction is PostgresChunkTransaction {
            try await inChunk.write(items, in: transaction)
            return
        }
        let rows = try items.map(values)
        try await pool.withConnection { connection in
            try await connection.withTransaction { connection in
                for row in rows { _ = try await connection.query(insert, row) }
            }
        }
    }
}
