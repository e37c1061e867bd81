/// A statement sent in a pipeline by ``PostgresConnection/runPipelined(_:)`` or
/// ``PostgresConnection/runPipelinedTransaction(isolation:_:)``: prepared on the connection, as the repository's statements
/// run on every job.
struct PipelinedStatement {
    /// The statement's text, with `$1`, `$2`, ... placeholders.
    var sql: String
    /// Its values, in placeholder order; nil is `NULL`.
    var parameters: [PostgresValue?]

    init(_ sql: String, _ parameters: [PostgresValue?]) {
        self.sql = sql
        self.parameters = parameters
    }
}

extension PostgresConnection {
    /// Sends `statements` in one pipeline and reads every result: one round trip. Outside a transaction block the
    /// server runs them in one implicit transaction, committed at the pipeline's sync: a failed statement undoes the
    /// ones before it and the rest are skipped, so they apply together or not at all (a connection lost in flight
    /// leaves it unknown, as for any statement).
    ///
    /// Every statement's values are encoded before the first is sent: a value PostgreSQL cannot take (a NUL
    /// character) fails the call with nothing sent.
    ///
    /// - Returns: each statement's rows, in order.
    /// - Throws: the first failure, after reading everything.
    func runPipelined(_ statements: [PipelinedStatement]) async throws -> [PostgresRows] {
        precondition(transactionDepth == 0, "runPipelined runs its own implicit transaction")
        let parameters = try statements.map { try Self.encoded($0.parameters) }
        for (statement, parameters) in zip(statements, parameters) {
            try await pipelineSend(statement.sql, parameters, prepared: true, flush: false)
        }
        return try await pipelineSync()
    }

    /// Runs `statements` in a transaction block at `isolation`, committed after them, all in one round trip. When a
    /// statement fails the block is rolled back (one more round trip) and the failure thrown.
    ///
    /// - Returns: each statement's rows, in order (without `BEGIN`'s and `COMMIT`'s).
    func runPipelinedTransaction(
        isolation: IsolationLevel, _ statements: [PipelinedStatement]
    ) async throws -> [PostgresRows] {
        precondition(transactionDepth == 0, "runPipelinedTransaction opens the outermost transaction block")
        let parameters = try statements.map { try Self.encoded($0.parameters) }
        // Nothing has reached the server before BEGIN: this send may reconnect a connection the server closed.
        try await pipelineSend(isolation.begin, [], flush: false)
        transactionDepth = 1
        do {
            for (statement, parameters) in zip(statements, parameters) {
                try await pipelineSend(statement.sql, parameters, prepared: true, flush: false)
            }
            try await pipelineSend("COMMIT", [], flush: false)
            let results = try await pipelineSync()
            if results.last?.commandTag == "ROLLBACK" {
                throw PostgresError.rolledBackAtCommit(
                    "the transaction was rolled back instead of committed because a statement in it failed")
            }
            end(depth: 0)
            return Array(results.dropFirst().dropLast())
        } catch {
            await rollback(depth: 0)
            throw error
        }
    }

    /// The values as libpq takes them (text, with their types).
    static func encoded(_ parameters: [PostgresValue?]) throws -> [PostgresEncodedParameter?] {
        try parameters.enumerated().map { position, value in
            try value.map {
                PostgresEncodedParameter.text(try $0.textEncoding(position: position + 1), typeOID: $0.typeOID)
            }
        }
    }
}
