import Batch

/// Where a PostgreSQL writer (or the skipped-item recorder) writes a chunk: on the chunk transaction's connection
/// when the step's repository is PostgreSQL on the same database as the application's pool (or no pool was given),
/// else in a transaction of its own on that pool.
///
/// "The same database" is the same host, port, database name and user in both configurations, the host compared
/// without case and with the loopback's names (`localhost`, `127.0.0.1`, `::1`) taken as one. A pool that names the
/// server otherwise (by another of its addresses) counts as another database: the writes then go in their own
/// transaction, never to the wrong database; and a pool with another user never writes with the repository's.
struct PostgresWriteConnection: Sendable {
    /// The writer's name, for messages.
    let writer: String
    /// The application's pool, for chunks whose transaction is not a PostgreSQL one on its database.
    let pool: PostgresConnectionPool?

    /// Runs `body` with the connection to write the chunk on.
    ///
    /// Inside the chunk transaction when it is a ``PostgresChunkTransaction`` on the pool's database (or there is no
    /// pool): the writes commit with the chunk. Otherwise on a connection leased from the pool, in a transaction of
    /// its own that commits when `body` returns (and rolls back when it throws), before the chunk's checkpoint.
    ///
    /// - Parameter body: the writes; it gets the connection and the chunk transaction when it writes in one.
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when there is no pool and the transaction is not
    ///   a PostgreSQL one; what `body` throws; ``PostgresError`` when the own transaction cannot begin or commit.
    func write<Result>(
        in transaction: any ChunkTransaction,
        _ body: (PostgresConnection, PostgresChunkTransaction?) async throws -> Result
    ) async throws -> Result {
        let chunk = transaction as? PostgresChunkTransaction
        guard let pool, !(chunk.map { Self.sameDatabase($0.repository.pool, pool) } ?? false) else {
            let chunk = try PostgresChunkTransaction.of(transaction, writer: writer)
            return try await body(chunk.connection, chunk)
        }
        let connection = try await pool.lease()
        connection.requestBegin()
        do {
            let result = try await body(connection, nil)
            try await connection.commit(depth: 0)
            await pool.release(connection)
            return result
        } catch {
            await connection.rollback(depth: 0)
            await pool.release(connection)
            throw error
        }
    }

    /// Checks that a chunk with nothing to write could have been written.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when there is no pool and the transaction is not
    ///   a PostgreSQL one.
    func check(_ transaction: any ChunkTransaction) throws {
        if pool == nil { _ = try PostgresChunkTransaction.of(transaction, writer: writer) }
    }

    /// Whether both pools connect to the same database as the same user: same host (see the type's discussion),
    /// port, database name and user.
    static func sameDatabase(_ one: PostgresConnectionPool, _ other: PostgresConnectionPool) -> Bool {
        if one === other { return true }
        let (a, b) = (one.configuration, other.configuration)
        return host(a.host) == host(b.host) && a.port == b.port && a.database == b.database && a.user == b.user
    }

    /// A host name compared without case, the loopback's names as one.
    private static func host(_ name: String) -> String {
        let lowered = name.lowercased()
        return ["localhost", "127.0.0.1", "::1", "[::1]"].contains(lowered) ? "loopback" : lowered
    }
}
