import CLibPQ
import Foundation
import Logging

extension PostgresConnection {
    /// Connects if there is no live connection yet (retrying with the reconnect policy).
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/connectionFailed`` or ``PostgresError/Code/closed``.
    func ensureConnected() async throws {
        _ = try await liveHandle(for: nil)
    }

    /// A handle believed to be alive: the current one if the server has not closed it, otherwise a new one.
    ///
    /// Only statements not yet sent come here, so reconnecting and then sending them is safe. Inside a transaction a
    /// broken connection is not replaced: the transaction is gone with it.
    func liveHandle(for statement: String?) async throws -> OpaquePointer {
        guard !isClosed else { throw PostgresError(.closed, "the connection was closed", statement: statement) }
        if let handle = connection?.pointer, !Self.isKnownBroken(handle) {
            return handle
        }
        if connection != nil {
            connection = nil
            if transactionDepth > 0 {
                transactionAborted = true
                throw PostgresError(
                    .transactionAborted,
                    "the connection broke inside this transaction, so the server rolled it back; "
                        + "end the transaction block and start again",
                    statement: statement)
            }
            logger.info(
                "PostgreSQL connection broken; reconnecting", metadata: ["postgres.host": "\(configuration.host)"])
        }
        let policy = configuration.reconnect
        var lastError = PostgresError(.connectionFailed, "no connection attempt was made")
        for attempt in 1...max(1, policy.maxAttempts) {
            let delay = policy.delay(beforeAttempt: attempt)
            if delay > .zero { try await Task.sleep(for: delay) }
            // The sleep may have let another call in (actor reentrancy); it may have connected already.
            guard !isClosed else { throw PostgresError(.closed, "the connection was closed", statement: statement) }
            if let handle = connection?.pointer { return handle }
            do {
                let handle = try connectOnce()
                connection = LibPQHandle(handle)
                preparedStatements = [:]  // a new session has none
                connectCount += 1
                if connectCount > 1 || attempt > 1 {
                    logger.info(
                        "connected to PostgreSQL",
                        metadata: ["postgres.attempt": "\(attempt)", "postgres.connections": "\(connectCount)"])
                }
                return handle
            } catch let error as PostgresError {
                lastError = error
                logger.debug(
                    "PostgreSQL connection attempt failed",
                    metadata: ["postgres.attempt": "\(attempt)", "postgres.error": "\(error.message)"])
            }
        }
        lastError.message =
            "could not connect to PostgreSQL at \(configuration.host):\(configuration.port) after "
            + "\(policy.maxAttempts) attempt(s): \(lastError.message)"
        lastError.statement = statement
        throw lastError
    }

    /// One `PQconnectdbParams`, with the password as a parameter of its own. Blocks this connection's thread.
    private func connectOnce() throws -> OpaquePointer {
        let parameters = configuration.libpqParameters
        let keywords: [UnsafeMutablePointer<CChar>?] = parameters.map { strdup($0.keyword) } + [nil]
        let values: [UnsafeMutablePointer<CChar>?] = parameters.map { strdup($0.value) } + [nil]
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let handle = keywords.map { UnsafePointer($0) }.withUnsafeBufferPointer { keywordPointers in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointers in
                PQconnectdbParams(keywordPointers.baseAddress, valuePointers.baseAddress, 0)
            }
        }
        guard let handle else {
            throw PostgresError(.connectionFailed, "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(handle)
            // libpq may echo connection parameters in its messages: never let the password through.
            throw PostgresError(.connectionFailed, message).scrubbing(configuration.password)
        }
        // libpq prints notices (`NOTICE: schema "batch" already exists, skipping`, the server's goodbye before it
        // closes a connection) to stderr by default; a library must not write there. Errors reach callers as
        // results, so notices are dropped.
        PQsetNoticeReceiver(handle, { _, _ in }, nil)
        return handle
    }

    /// Whether the server has already closed the connection, found without sending anything: pending input on an
    /// idle connection is either a notice or the server's goodbye (an error and end of file).
    static func isKnownBroken(_ handle: OpaquePointer) -> Bool {
        guard PQstatus(handle) == CONNECTION_OK else { return true }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return true }
        for _ in 0..<8 {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { return false }
            if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK { return true }
            while let notification = PQnotifies(handle) { PQfreemem(notification) }
        }
        return false
    }
}
