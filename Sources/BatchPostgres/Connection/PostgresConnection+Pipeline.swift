import CLibPQ

/// One command sent in pipeline mode: a statement, or the preparation of one.
struct PipelinedCommand {
    /// The statement's text.
    var sql: String
    /// Set for a `PQsendPrepare`: the name being prepared (forgotten again if the preparation fails).
    var preparing: String?
}

extension PostgresConnection {
    /// Sends a statement in libpq's pipeline mode without waiting for its result; ``pipelineSync()`` (or the next
    /// ``query(_:_:)``) reads the results of everything sent.
    ///
    /// Lets a chunk's `BEGIN`, inserts, step update and `COMMIT` travel in one round trip, and the server insert one
    /// part of a chunk while the next is being encoded. After a failed statement the server skips the rest of the
    /// pipeline, so a failed insert can never be followed by a `COMMIT`.
    /// - Parameter flush: push the statement to the server at once (the default); false leaves it in libpq's buffer
    ///   until ``pipelineSync()``, so statements sent together cost one write to the socket.
    func pipelineSend(
        _ sql: String, _ parameters: [PostgresEncodedParameter?], prepared: Bool = false, flush: Bool = true
    ) async throws {
        try refuseIfTransactionAborted(sql)
        try await sendRequestedBegin()
        try await send(sql, parameters, prepared: prepared, flush: flush, on: try await pipelineHandle(for: sql))
    }

    /// The handle to pipeline on: the current one when statements are in flight, else a live one (re-established
    /// if the server closed it) put into pipeline mode.
    private func pipelineHandle(for sql: String) async throws -> OpaquePointer {
        if pipelined.isEmpty {
            let handle = try await liveHandle(for: sql)
            guard PQenterPipelineMode(handle) == 1 else {
                throw PostgresError(.unexpectedResult, "libpq could not enter pipeline mode", statement: sql)
            }
            return handle
        }
        guard !isClosed, let current = connection?.pointer else {
            throw PostgresError(.closed, "the connection was closed", statement: sql)
        }
        return current
    }

    /// Queues one statement on `handle` (preparing it first, in the same pipeline, when asked and not yet done).
    private func send(
        _ sql: String, _ parameters: [PostgresEncodedParameter?], prepared: Bool, flush: Bool = true,
        on handle: OpaquePointer
    ) async throws {
        var name = prepared ? preparedStatements[sql] : nil
        if prepared && name == nil {
            // Prepare it in the same pipeline, just ahead of its first execution.
            preparedCounter += 1
            let newName = "swift_batch_\(preparedCounter)"
            let queued = parameters.map { $0?.typeOID ?? 0 }.withUnsafeBufferPointer { types in
                PQsendPrepare(handle, newName, sql, Int32(types.count), types.baseAddress)
            }
            if queued == 1 {
                preparedStatements[sql] = newName
                pipelined.append(PipelinedCommand(sql: sql, preparing: newName))
                name = newName
            }
        }
        let sent = withLibPQArguments(parameters) { count, values, types, lengths, formats in
            if let name {
                PQsendQueryPrepared(handle, name, count, values, lengths, formats, 0)
            } else {
                PQsendQueryParams(handle, sql, count, types, values, lengths, formats, 0)
            }
        }
        statementCount += 1
        pipelined.append(PipelinedCommand(sql: sql))
        // Push it to the server now, so it works while the caller prepares the next statement.
        let flushed = sent == 1 && flush ? await flushOutput(handle) : true
        guard sent == 1, flushed else {
            // Read what can be read and report the failure (a broken connection reports connectionLost).
            try await pipelineSync()
            throw failure(of: sql, result: nil, handle: handle)
        }
    }

    /// Sends the `BEGIN` that ``requestBegin()`` asked for, if it has not gone out yet, ahead in the pipeline.
    ///
    /// The connection is checked (and re-established if the server closed it meanwhile, say after a database
    /// incident while it sat idle in the pool) *before* the block counts as open: nothing of the transaction has
    /// reached the server yet, so reconnecting is safe, and a dead pooled connection never fails a chunk.
    func sendRequestedBegin() async throws {
        guard beginRequested.load(ordering: .acquiring) != 0 else { return }
        let handle = try await pipelineHandle(for: "BEGIN")
        let statements = takeRequestedBegin()
        // A reconnect may have let another call in (actor reentrancy) that sent the BEGIN already.
        if statements.isEmpty, pipelined.isEmpty { PQexitPipelineMode(handle) }
        for statement in statements { try await send(statement, [], prepared: false, on: handle) }
    }

    /// Ends the pipeline: sends a sync, reads the result of every statement sent, and leaves pipeline mode.
    ///
    /// - Returns: each statement's rows, in the order sent.
    /// - Throws: the first statement's failure (the statements after it did not run), after reading everything.
    @discardableResult
    func pipelineSync() async throws -> [PostgresRows] {
        guard !pipelined.isEmpty else { return [] }
        let statements = pipelined
        pipelined = []
        guard let handle = connection?.pointer else {
            throw PostgresError(.closed, "the connection was closed", statement: statements.first?.sql)
        }
        var firstError: PostgresError?
        var results: [PostgresRows] = []
        roundTripCount += 1
        if PQpipelineSync(handle) != 1 {
            // Without its sync the server may never answer the statements: reading would wait for ever.
            let error = failure(of: statements[0].sql, result: nil, handle: handle)
            endSession()
            throw error
        }
        for command in statements where firstError?.code != .connectionLost {
            guard let result = await nextResult(handle) else {
                firstError = firstError ?? failure(of: command.sql, result: nil, handle: handle)
                break
            }
            let status = PQresultStatus(result)
            if let name = command.preparing, status != PGRES_COMMAND_OK, preparedStatements[command.sql] == name {
                preparedStatements[command.sql] = nil
            }
            switch status {
            case PGRES_COMMAND_OK where command.preparing != nil:
                break  // a preparation: no rows of its own
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_PIPELINE_ABORTED:
                results.append(Self.rows(from: result))
            default:
                firstError = firstError ?? failure(of: command.sql, result: result, handle: handle)
                if command.preparing == nil { results.append(Self.rows(from: result)) }
            }
            PQclear(result)
            // Each statement's results end with a NULL.
            while let extra = await nextResult(handle) { PQclear(extra) }
        }
        if PQstatus(handle) == CONNECTION_OK {
            // The sync point's own result.
            for _ in 0..<2 {
                guard let sync = await nextResult(handle) else { continue }
                let isSync = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
                PQclear(sync)
                if isSync { break }
            }
            // A session that cannot leave pipeline mode would send the next statement without a sync.
            if PQexitPipelineMode(handle) != 1 { endSession() }
        }
        if let firstError { throw firstError }
        return results
    }

    /// Sends `statement` and `COMMIT` behind whatever the pipeline holds, reads every result, and ends the
    /// transaction block at `depth` when the commit went through: a chunk's commit in one call to this
    /// connection and one round trip to the server.
    ///
    /// - Returns: the results of everything the pipeline held, `statement`'s and `COMMIT`'s last.
    /// - Throws: the first failure; the block then stays open for the caller to roll back.
    func commitPipelined(
        _ statement: String, _ parameters: [PostgresEncodedParameter?], depth: Int
    ) async throws -> [PostgresRows] {
        try await pipelineSend(statement, parameters, prepared: true)
        try await pipelineSend("COMMIT", [])
        let results = try await pipelineSync()
        end(depth: depth)
        return results
    }
}
