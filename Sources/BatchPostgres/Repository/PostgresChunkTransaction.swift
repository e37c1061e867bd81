import Batch
import Synchronization

/// The transaction of one chunk in PostgreSQL: a connection leased from the repository's pool with a transaction
/// open on it. The chunk's writers write on ``connection``; ``commit(_:)`` stores the step execution (optimistic
/// version checked) on the same connection and commits everything together.
///
/// `BEGIN`, the ``PostgresItemWriter``'s inserts, the step update and `COMMIT` go out in libpq's pipeline mode: a
/// chunk costs one round trip to the server, and a failed statement makes the server skip everything after it, so
/// nothing of a failed chunk commits. With the ``PostgresCopyItemWriter`` `BEGIN` and the `COPY` go out in one
/// message; libpq allows no `COPY` in a pipeline, so such a chunk costs three round trips (start the copy, end it,
/// commit).
///
/// A writer finds it by casting the engine's transaction:
/// ```swift
/// guard let transaction = transaction as? PostgresChunkTransaction else { throw ... }
/// try await transaction.connection.query("INSERT INTO ledger ...", [...])
/// ```
public final class PostgresChunkTransaction: ChunkTransaction {
    /// The connection the chunk's transaction is open on. Use it only until the chunk commits or rolls back.
    public let connection: PostgresConnection
    /// The repository whose chunk this is (its schema holds the skipped items).
    let repository: PostgresJobRepository
    private let depth: Int
    /// Set once commit or rollback has begun: exactly one of them runs.
    private let finished = Atomic(false)
    /// The connection's transaction depths of the open savepoints, innermost last.
    private let savepoints = Mutex<[Int]>([])
    private let statusAtCommit = Mutex<ExecutionStatusSnapshot?>(nil)

    private init(connection: PostgresConnection, repository: PostgresJobRepository, depth: Int) {
        self.connection = connection
        self.repository = repository
        self.depth = depth
    }

    /// Leases a connection and opens the transaction: `BEGIN` travels with the chunk's first statement (in the
    /// insert pipeline, or in the message that starts a `COPY`), so opening costs no round trip of its own.
    static func begin(repository: PostgresJobRepository) async throws -> PostgresChunkTransaction {
        let connection = try await repository.pool.lease()
        connection.requestBegin(asynchronousCommit: !repository.pool.configuration.synchronousChunkCommit)
        return PostgresChunkTransaction(connection: connection, repository: repository, depth: 0)
    }

    /// Stores the step execution and commits the chunk's writes with it.
    ///
    /// - Returns: the stored step execution with its new version.
    /// - Throws: ``BatchError`` with ``BatchError/Code/optimisticLock`` when the step execution changed meanwhile,
    ///   or ``BatchError/Code/repositoryFailure``; the transaction is rolled back then. A commit that failed
    ///   because the connection was lost may or may not have committed (the message says so).
    public func commit(_ stepExecution: StepExecution) async throws -> StepExecution {
        guard finished.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else {
            throw BatchError(.invalidState, "the chunk transaction was already committed or rolled back")
        }
        do {
            let (stored, snapshot) = try await repository.commitChunk(stepExecution, on: connection, depth: depth)
            statusAtCommit.withLock { $0 = snapshot }
            await repository.pool.release(connection)
            return stored
        } catch {
            await connection.rollback(depth: depth)
            await repository.pool.release(connection)
            throw error
        }
    }

    /// The PostgreSQL transaction a store-specific writer writes in.
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when the step's repository is not PostgreSQL.
    static func of(_ transaction: any ChunkTransaction, writer: String) throws -> PostgresChunkTransaction {
        guard let transaction = transaction as? PostgresChunkTransaction else {
            throw BatchError(
                .invalidState,
                "\(writer) writes inside a PostgresJobRepository chunk transaction, but this step's repository gave "
                    + "a \(type(of: transaction)); run the job with a PostgresJobRepository")
        }
        return transaction
    }

    /// The job execution's status and version read by ``commit(_:)``.
    public var jobStatusAtCommit: ExecutionStatusSnapshot? { statusAtCommit.withLock { $0 } }

    /// Sets a savepoint (`SAVEPOINT`), so that one item's failed write can be undone without losing the chunk.
    public func savepoint() async throws {
        let depth = try await connection.begin()
        savepoints.withLock { $0.append(depth) }
    }

    /// Releases the last savepoint, keeping what was written since. A failed pipelined insert since the savepoint
    /// is reported here; the savepoint then stays, for ``rollbackToSavepoint()``.
    public func releaseSavepoint() async throws {
        guard let depth = savepoints.withLock({ $0.last }) else {
            throw BatchError(.invalidState, "releaseSavepoint() without a savepoint")
        }
        try await connection.commit(depth: depth)
        savepoints.withLock { _ = $0.popLast() }
    }

    /// Reads the results of the statements the chunk's writers sent ahead in the pipeline (one round trip when
    /// there are any), throwing the first failure as it is: the writer's error.
    public func completeWrites() async throws {
        try await connection.pipelineSync()
    }

    /// Undoes what was written since the last savepoint and removes it; the chunk's transaction goes on.
    public func rollbackToSavepoint() async throws {
        guard let depth = savepoints.withLock({ $0.popLast() }) else {
            throw BatchError(.invalidState, "rollbackToSavepoint() without a savepoint")
        }
        try await connection.rollbackToSavepoint(depth: depth)
    }

    /// Rolls back everything written in the chunk.
    public func rollback() async {
        guard finished.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        await connection.rollback(depth: depth)
        await repository.pool.release(connection)
    }

    deinit {
        // A transaction dropped without commit or rollback: roll it back and return the connection.
        guard !finished.load(ordering: .acquiring) else { return }
        let connection = self.connection
        let pool = repository.pool
        let depth = self.depth
        Task {
            await connection.rollback(depth: depth)
            await pool.release(connection)
        }
    }
}
