import Batch
import Synchronization

/// The transaction of one chunk in PostgreSQL: a connection leased from the repository's pool with a transaction
/// open on it. The chunk's writers write on ``connection``; ``commit(_:)`` stores the step execution (optimistic
/// version checked) on the same connection and commits everything together.
///
/// A writer finds it by casting the engine's transaction:
/// ```swift
/// guard let transaction = transaction as? PostgresChunkTransaction else { throw ... }
/// try await transaction.connection.query("INSERT INTO ledger ...", [...])
/// ```
public final class PostgresChunkTransaction: ChunkTransaction {
    /// The connection the chunk's transaction is open on. Use it only until the chunk commits or rolls back.
    public let connection: PostgresConnection
    private let repository: PostgresJobRepository
    private let depth: Int
    /// Set once commit or rollback has begun: exactly one of them runs.
    private let finished = Atomic(false)

    private init(connection: PostgresConnection, repository: PostgresJobRepository, depth: Int) {
        self.connection = connection
        self.repository = repository
        self.depth = depth
    }

    /// Leases a connection and opens the transaction.
    static func begin(repository: PostgresJobRepository) async throws -> PostgresChunkTransaction {
        let connection = try await repository.pool.lease()
        do {
            let depth = try await connection.begin()
            return PostgresChunkTransaction(connection: connection, repository: repository, depth: depth)
        } catch {
            await repository.pool.release(connection)
            throw error
        }
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
        let stored: StepExecution
        do {
            stored = try await repository.updateStepExecution(stepExecution, on: connection)
        } catch {
            await connection.rollback(depth: depth)
            await repository.pool.release(connection)
            throw error
        }
        do {
            try await repository.repositoryCall("commit the chunk of step execution \(stepExecution.id)") {
                try await connection.commit(depth: depth)
            }
        } catch {
            await repository.pool.release(connection)
            throw error
        }
        await repository.pool.release(connection)
        return stored
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
