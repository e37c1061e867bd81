import CLibPQ

extension PostgresConnection {
    /// Runs `body` in a transaction: `BEGIN`, then `COMMIT` when it returns, `ROLLBACK` when it throws.
    ///
    /// Nested calls use savepoints. If the connection breaks inside the block, the server has rolled the
    /// transaction back: every further statement in the block fails with ``PostgresError/Code/transactionAborted``
    /// and the block throws; the connection reconnects for the next statement after the block.
    ///
    /// ```swift
    /// try await connection.withTransaction { connection in
    ///     try await connection.query("INSERT INTO ledger (amount) VALUES ($1)", [.int(100)])
    ///     try await connection.query("UPDATE totals SET sum = sum + $1", [.int(100)])
    /// }
    /// ```
    /// - Parameters:
    ///   - isolation: the outermost block's isolation level (`BEGIN ISOLATION LEVEL …`), whatever the database's or
    ///     role's default; nil keeps the default. A nested block (a savepoint) keeps its outer block's.
    ///   - body: the work; it gets this connection.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw, or ``PostgresError`` when `BEGIN` or `COMMIT` fails (a `COMMIT` that fails with
    ///   ``PostgresError/Code/connectionLost`` may or may not have committed).
    @discardableResult
    public nonisolated func withTransaction<Result>(
        isolation: IsolationLevel? = nil, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let depth = try await begin(isolation: isolation)
        let result: Result
        do {
            result = try await body(self)
        } catch {
            await rollback(depth: depth)
            throw error
        }
        try await commit(depth: depth)
        return result
    }

    /// Whether a transaction block is open on this connection.
    public var isInTransaction: Bool { transactionDepth > 0 }

    /// Opens a transaction block (`BEGIN`, or a savepoint when one is open) and returns its depth for
    /// ``commit(depth:)`` or ``rollback(depth:)``. For transactions that span calls, such as a chunk's.
    func begin(isolation: IsolationLevel? = nil) async throws -> Int {
        try await sendRequestedBegin()  // a requested block opens first: this one nests in it
        let depth = transactionDepth
        if depth == 0 {
            // The outermost block may reconnect before BEGIN; nothing of it has run yet.
            try await query(isolation?.begin ?? "BEGIN")
        } else {
            try await query("SAVEPOINT swift_batch_\(depth)")
        }
        transactionDepth += 1
        return depth
    }

    /// Commits the block opened at `depth`. When the outermost `COMMIT` fails before the server ended the block (a
    /// statement pipelined ahead of it failed, say), the block is rolled back: the connection never goes back to
    /// the pool inside a transaction its next user did not open.
    func commit(depth: Int) async throws {
        if depth == 0 {
            let rows: PostgresRows
            do {
                rows = try await query("COMMIT")
            } catch {
                if isServerTransactionOpen {
                    await rollback(depth: 0)
                } else {
                    end(depth: 0)
                }
                throw error
            }
            end(depth: 0)
            // A transaction in which a statement failed answers COMMIT with ROLLBACK, without an error.
            if rows.commandTag == "ROLLBACK" {
                throw PostgresError.rolledBackAtCommit(
                    "the transaction was rolled back instead of committed because a statement in it failed")
            }
        } else {
            defer { end(depth: depth) }
            try await query("RELEASE SAVEPOINT swift_batch_\(depth)")
        }
    }

    /// Whether the server holds a transaction block open on the current session (in progress or failed).
    private var isServerTransactionOpen: Bool {
        guard let handle = connection?.pointer else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Rolls back the block opened at `depth`; never throws (a broken connection has rolled back already).
    func rollback(depth: Int) async {
        if depth == 0, !takeRequestedBegin().isEmpty {
            // The BEGIN never went out: there is nothing to roll back.
            end(depth: 0)
            return
        }
        defer { end(depth: depth) }
        // Whatever was sent ahead failed or is being discarded: read it, keep going.
        _ = try? await pipelineSync()
        guard !transactionAborted else { return }
        if depth == 0 {
            _ = try? await query("ROLLBACK")
        } else {
            _ = try? await query("ROLLBACK TO SAVEPOINT swift_batch_\(depth)")
        }
    }

    /// Rolls back to the savepoint opened at `depth` (> 0) and releases it, keeping the enclosing transaction.
    ///
    /// - Throws: ``PostgresError`` when the server refuses (for example the connection broke).
    func rollbackToSavepoint(depth: Int) async throws {
        precondition(depth > 0, "depth 0 is the transaction itself, not a savepoint")
        defer { end(depth: depth) }
        _ = try? await pipelineSync()  // a failed insert since the savepoint is what is being undone
        try await query("ROLLBACK TO SAVEPOINT swift_batch_\(depth)")
        try await query("RELEASE SAVEPOINT swift_batch_\(depth)")
    }

    /// Marks the block opened at `depth` as ended (after a pipelined `COMMIT`).
    func end(depth: Int) {
        transactionDepth = depth
        if depth == 0 { transactionAborted = false }
    }
}

/// A transaction's isolation level (``PostgresConnection/withTransaction(isolation:_:)``).
public enum IsolationLevel: Sendable {
    /// Each statement sees what was committed before it began.
    case readCommitted
    /// Every statement sees what was committed before the transaction's first.
    case repeatableRead
    /// As if the transactions ran one after the other.
    case serializable

    /// The statement opening a block at this level.
    var begin: String {
        switch self {
        case .readCommitted: "BEGIN ISOLATION LEVEL READ COMMITTED"
        case .repeatableRead: "BEGIN ISOLATION LEVEL REPEATABLE READ"
        case .serializable: "BEGIN ISOLATION LEVEL SERIALIZABLE"
        }
    }
}
