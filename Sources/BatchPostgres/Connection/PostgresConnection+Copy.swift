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
        if transactionAborted {
            throw PostgresError(
                .transactionAborted,
                "the connection broke inside this transaction, so the server rolled it back; "
                    + "end the transaction block and start again",
                statement: sql)
        }
        let handle = try await liveHandle(for: sql)
        statementCount += 1
        let start = PQexecParams(handle, sql, 0, nil, nil, nil, nil, 0)
        defer { PQclear(start) }
        let startStatus = start.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard startStatus == PGRES_COPY_IN else {
            if startStatus == PGRES_COMMAND_OK || startStatus == PGRES_TUPLES_OK {
                throw PostgresError(
                    .unexpectedResult, "copyIn(_:data:) needs a COPY ... FROM STDIN statement", statement: sql)
            }
            throw failure(of: sql, result: start, handle: handle)
        }
        let sent = data.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { characters in
                characters.isEmpty ? 1 : PQputCopyData(handle, characters.baseAddress, Int32(characters.count))
            }
        }
        let ended = sent == 1 ? PQputCopyEnd(handle, nil) : PQputCopyEnd(handle, "swift-batch could not send the data")
        var outcome: OpaquePointer? = PQgetResult(handle)
        defer { PQclear(outcome) }
        while let extra = PQgetResult(handle) { PQclear(extra) }
        guard sent == 1, ended == 1, let result = outcome, PQresultStatus(result) == PGRES_COMMAND_OK else {
            let error = failure(of: sql, result: outcome, handle: handle)
            PQclear(outcome)
            outcome = nil
            throw error
        }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }
}
