import CLibPQ

/// libpq in non-blocking mode: what would block waits in ``SocketPoller`` instead, with the task suspended and its
/// thread free.
extension PostgresConnection {
    /// Sends what libpq holds in its output buffer, waiting for the socket as long as it does not take everything.
    ///
    /// - Returns: false when the connection failed (libpq's error message says why).
    func flushOutput(_ handle: OpaquePointer) async -> Bool {
        while true {
            switch PQflush(handle) {
            case 0:
                return true
            case 1:
                // libpq's advice: wait until the socket is writable or readable; read what arrived (the server may
                // be waiting for us to read before it reads more), then flush again.
                await waitForSocket(of: handle, writable: true)
                if PQconsumeInput(handle) == 0 { return false }
            default:
                return false
            }
        }
    }

    /// The next result, as `PQgetResult` returns it (nil at the end of a statement's results), waiting for the
    /// server's answer without blocking a thread.
    func nextResult(_ handle: OpaquePointer) async -> OpaquePointer? {
        if await flushOutput(handle) {
            while PQisBusy(handle) == 1 {
                // Over TLS, OpenSSL may hold the rest of a record libpq had no room for, which the socket no longer
                // shows as readable: read on (each call returns at once when there is nothing) before waiting.
                if PQsslInUse(handle) == 1, Self.consumeBuffered(handle) { continue }
                await waitForSocket(of: handle, writable: false)
                // A failure here is the connection's: `PQgetResult` reports it as an error result.
                if PQconsumeInput(handle) == 0 { break }
            }
        }
        return PQgetResult(handle)
    }

    /// Reads what libpq can read without waiting, a few times; whether that made a result ready (or failed).
    private static func consumeBuffered(_ handle: OpaquePointer) -> Bool {
        for _ in 0..<4 {
            if PQconsumeInput(handle) == 0 || PQisBusy(handle) == 0 { return true }
        }
        return false
    }

    /// The outcome of the statement sent last, as `PQexec` would return it: its last result, or its first error,
    /// or the `COPY` state it entered; the caller clears it. Nil when not even an error result could be made.
    func finalResult(_ handle: OpaquePointer) async -> OpaquePointer? {
        var kept: OpaquePointer?
        while let result = await nextResult(handle) {
            let status = PQresultStatus(result)
            if let previous = kept, PQresultStatus(previous) == PGRES_FATAL_ERROR {
                PQclear(result)
            } else {
                PQclear(kept)
                kept = result
            }
            switch status {
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                return kept  // the statement waits for its COPY data: no further result until then
            default:
                if PQstatus(handle) == CONNECTION_BAD { return kept }
            }
        }
        return kept
    }

    /// Suspends until the connection's socket is ready (see ``SocketPoller/wait(for:writable:)``). While it waits,
    /// ``close()`` leaves the handle to the statement in flight.
    private func waitForSocket(of handle: OpaquePointer, writable: Bool) async {
        let socket = PQsocket(handle)
        guard socket >= 0 else { return }
        // Two tasks in one connection's statements would interleave them (and one would wait for ever): a
        // programming error, stopped here rather than left to corrupt a transaction.
        precondition(!isWaitingForSocket, "a PostgresConnection serves one task at a time; lease one per task")
        isWaitingForSocket = true
        defer { isWaitingForSocket = false }
        await SocketPoller.shared.wait(for: socket, writable: writable)
    }
}
