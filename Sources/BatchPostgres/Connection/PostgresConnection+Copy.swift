import CLibPQ

extension PostgresConnection {
    /// Runs `COPY ... FROM STDIN` and sends `data` as its input, in one round of the COPY protocol
    /// (`PQputCopyData`, `PQputCopyEnd`).
    ///
    /// The data must be in the format the statement names (the text format by default: tab-separated columns,
    /// one line per row, `\N` for NULL; ``PostgresCopyText`` builds it). Inside a transaction block the rows commit
    /// with it.
    ///
    /// - Parameters:
    ///   - sql: the `COPY table (columns) FROM STDIN ...` statement.
    ///   - data: the COPY input.
    /// - Returns: the number of rows copied.
    /// - Throws: ``PostgresError``: ``PostgresError/Code/server`` when the server refuses a row (nothing is copied),
    ///   ``PostgresError/Code/connectionLost`` when the connection broke meanwhile (the copy may or may not have
    ///   happened; it is not repeated).
    @discardableResult
    public func copyIn(_ sql: String, data: [UInt8]) async throws -> Int {
        try await copyIn(sql, pieces: [data])
    }

    /// Runs the `COPY ... FROM STDIN` statement `sql` once per piece of input, all in one message (with the `BEGIN`
    /// of a requested transaction block ahead of them), and feeds each its piece as the server asks for it.
    ///
    /// libpq allows no `COPY` in pipeline mode: statements sent ahead are synced first. Several statements keep each
    /// one's rows few: PostgreSQL 15 spends time quadratic in the rows a `COPY` buffers at once (up to 1,000) on
    /// bookkeeping for their tuple slots, so two `COPY`s of 500 rows cost the server less than one of 1,000.
    ///
    /// - Returns: the number of rows copied.
    /// - Throws: ``PostgresError`` as ``copyIn(_:data:)``; after a refused piece the server skips the rest.
    @discardableResult
    func copyIn(_ sql: String, pieces: [[UInt8]]) async throws -> Int {
        try refuseIfTransactionAborted(sql)
        guard !pieces.isEmpty else { return 0 }
        if !pipelined.isEmpty {
            try await pipelineSync()
        }
        let handle = try await liveHandle(for: sql)
        // A requested BEGIN goes out in the same message. No values travel in it: the statements are fixed text.
        let message = (takeRequestedBegin() + Array(repeating: sql, count: pieces.count)).joined(separator: "; ")
        statementCount += pieces.count
        roundTripCount += pieces.count
        guard PQsendQuery(handle, message) == 1 else {
            throw failure(of: sql, result: nil, handle: handle)
        }
        var firstError: PostgresError?
        var copied = 0
        var piece = 0
        // Results arrive in order: BEGIN's, then per COPY its start (COPY_IN) and, after its input, its outcome.
        results: while let result = await nextResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_COPY_IN:
                let data = piece < pieces.count ? pieces[piece] : []
                piece += 1
                let sent = await putCopyData(data, on: handle)
                let ended = await putCopyEnd(failure: sent ? nil : "swift-batch could not send the data", on: handle)
                if !sent || !ended {
                    firstError = firstError ?? failure(of: sql, result: nil, handle: handle)
                }
                if !ended {
                    // libpq stays in COPY mode: every further result would be another COPY_IN. The handle is gone
                    // with the session: nothing below may touch it.
                    endSession()
                    break results
                }
            case PGRES_COMMAND_OK:
                if let tag = PQcmdStatus(result), String(cString: tag).hasPrefix("COPY") {
                    copied += Int(String(cString: PQcmdTuples(result))) ?? 0
                }
            case PGRES_TUPLES_OK:
                firstError =
                    firstError
                    ?? PostgresError(
                        .unexpectedResult, "copyIn(_:data:) needs a COPY ... FROM STDIN statement", statement: sql)
            default:
                firstError = firstError ?? failure(of: sql, result: result, handle: handle)
            }
            if PQstatus(handle) == CONNECTION_BAD {
                firstError = firstError ?? failure(of: sql, result: nil, handle: handle)
                break
            }
        }
        if let firstError { throw firstError }
        guard piece == pieces.count else {
            throw PostgresError(
                .unexpectedResult, "copyIn(_:data:) needs a COPY ... FROM STDIN statement", statement: sql)
        }
        return copied
    }

    /// Queues `data` as `COPY` input; in non-blocking mode libpq may refuse it while its buffer is full, so this
    /// sends what the buffer holds and tries once more. (The end of the data and the buffer's last bytes are
    /// sent by the wait for the statement's result.)
    ///
    /// - Returns: false when the connection failed.
    private func putCopyData(_ data: [UInt8], on handle: OpaquePointer) async -> Bool {
        guard !data.isEmpty else { return true }
        return await queued(on: handle) {
            data.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
            }
        }
    }

    /// Ends the `COPY` input (with `failure`, the server aborts the statement with that message), making room in
    /// libpq's buffer as ``putCopyData(_:on:)`` does.
    ///
    /// - Returns: false when the connection failed.
    func putCopyEnd(failure: String?, on handle: OpaquePointer) async -> Bool {
        await queued(on: handle) { PQputCopyEnd(handle, failure) }
    }

    /// Runs a libpq call that answers 1 (queued), 0 (no room in the output buffer: non-blocking mode) or -1; after
    /// a 0 it sends the buffer and calls once more. A second 0 with the buffer sent means libpq cannot take it at
    /// all (out of memory): a failure, like -1.
    private func queued(on handle: OpaquePointer, _ call: () -> Int32) async -> Bool {
        let first = call()
        guard first == 0 else { return first == 1 }
        return await flushOutput(handle) && call() == 1
    }
}
