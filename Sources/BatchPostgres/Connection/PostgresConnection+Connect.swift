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
    ///
    /// Connecting retries with the configuration's ``PostgresConfiguration/ReconnectPolicy`` while the failure is
    /// transient (the server is unreachable, starting, shutting down or full; each attempt bounded by
    /// ``PostgresConfiguration/connectTimeout``); every retry is logged at warning with the reason. A failure that
    /// cannot get better — a wrong password, a missing role or database, a bad `sslmode` or other bad option — is
    /// thrown at once.
    func liveHandle(for statement: String?) async throws -> OpaquePointer {
        guard !isClosed else {
            // A statement that was in flight when close() came kept the handle until now.
            if !isWaitingForSocket { connection = nil }
            throw PostgresError(.closed, "the connection was closed", statement: statement)
        }
        if let handle = connection, !Self.isKnownBroken(handle) {
            return handle.pointer
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
            logger.warning(
                "the PostgreSQL server closed the connection; reconnecting before the next statement",
                metadata: ["postgres.host": "\(configuration.host)", "postgres.port": "\(configuration.port)"])
        }
        let policy = configuration.reconnect
        let attempts = max(1, policy.maxAttempts)
        var lastError = PostgresError(.connectionFailed, "no connection attempt was made")
        for attempt in 1...attempts {
            let delay = policy.delay(beforeAttempt: attempt)
            if delay > .zero { try await Task.sleep(for: delay) }
            // The sleep may have let another call in (actor reentrancy); it may have connected already.
            guard !isClosed else { throw PostgresError(.closed, "the connection was closed", statement: statement) }
            if let handle = connection?.pointer { return handle }
            do {
                let configuration = configuration
                let handle = try await JoinedThread.run(name: "libpq connect") {
                    Self.connectOnce(configuration)
                }.get().pointer
                // The connect let other calls in (actor reentrancy): one may have closed the connection, or
                // connected it.
                guard !isClosed else {
                    PQfinish(handle)
                    throw PostgresError(.closed, "the connection was closed", statement: statement)
                }
                if let existing = connection?.pointer {
                    PQfinish(handle)
                    return existing
                }
                connection = LibPQHandle(handle)
                preparedStatements = [:]  // a new session has none
                connectCount += 1
                if connectCount > 1 || attempt > 1 {
                    logger.info(
                        "connected to PostgreSQL",
                        metadata: ["postgres.attempt": "\(attempt)", "postgres.connections": "\(connectCount)"])
                }
                return handle
            } catch let error as PostgresError where error.code == .closed {
                // Closed by its owner while connecting (a pool shutting down): nothing failed, nothing to log.
                throw error
            } catch let error as PostgresError {
                lastError = error
                guard error.isTransient else {
                    // A wrong password or a bad option fails the same way every time: no retry.
                    logger.error(
                        "could not connect to PostgreSQL; not retrying, this will not get better by itself",
                        metadata: [
                            "postgres.host": "\(configuration.host)", "postgres.port": "\(configuration.port)",
                            "postgres.error": "\(error.message)",
                        ])
                    lastError.message =
                        "could not connect to PostgreSQL at \(configuration.host):\(configuration.port): "
                        + error.message
                    lastError.statement = statement
                    throw lastError
                }
                if attempt < attempts {
                    logger.warning(
                        "could not connect to PostgreSQL; retrying",
                        metadata: [
                            "postgres.host": "\(configuration.host)", "postgres.port": "\(configuration.port)",
                            "postgres.attempt": "\(attempt) of \(attempts)",
                            "postgres.retryIn": "\(policy.delay(beforeAttempt: attempt + 1))",
                            "postgres.error": "\(error.message)",
                        ])
                }
            }
        }
        lastError.message =
            "could not connect to PostgreSQL at \(configuration.host):\(configuration.port) after "
            + "\(attempts) attempt(s): \(lastError.message)"
        lastError.statement = statement
        throw lastError
    }

    /// A new `PGconn`, handed from the thread that connected to the connection's actor.
    struct ConnectedHandle: @unchecked Sendable {
        // @unchecked Sendable: nothing else has the pointer; the connecting thread gives it up.
        let pointer: OpaquePointer
    }

    /// One `PQconnectdbParams`, with the password as a parameter of its own (never in a connection string libpq
    /// could echo), bounded by `connect_timeout`; the connection is then put in non-blocking mode. Blocks the
    /// calling thread.
    private static func connectOnce(_ configuration: PostgresConfiguration) -> Result<ConnectedHandle, PostgresError> {
        let parameters = configuration.libpqParameters
        let keywords: [UnsafeMutablePointer<CChar>?] = parameters.map { strdup($0.keyword) } + [nil]
        let values: [UnsafeMutablePointer<CChar>?] = parameters.map { strdup($0.value) } + [nil]
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        // expand_dbname 0: the database name is a name, never parsed as a connection string.
        let handle = keywords.map { UnsafePointer($0) }.withUnsafeBufferPointer { keywordPointers in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointers in
                PQconnectdbParams(keywordPointers.baseAddress, valuePointers.baseAddress, 0)
            }
        }
        guard let handle else {
            return .failure(PostgresError(.connectionFailed, "libpq could not allocate a connection"))
        }
        guard PQstatus(handle) == CONNECTION_OK, PQsetnonblocking(handle, 1) == 0 else {
            let message = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(handle)
            return .failure(.connectFailure(message, connectTimeout: configuration.connectTimeoutSeconds))
        }
        return .success(ConnectedHandle(pointer: handle))
    }

    /// Whether the server has already closed the connection, found without sending anything: pending input on an
    /// idle connection is either a notice or the server's goodbye (a `FATAL` message, then end of file). The
    /// goodbye alone is enough: the end of the connection may arrive a moment after it.
    static func isKnownBroken(_ connection: LibPQHandle) -> Bool {
        let handle = connection.pointer
        guard PQstatus(handle) == CONNECTION_OK, !connection.serverSaidGoodbye else { return true }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return true }
        for _ in 0..<8 {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { return false }
            if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK { return true }
            // Parsing what arrived (PQnotifies parses) hands a goodbye to the notice receiver.
            while let notification = PQnotifies(handle) { PQfreemem(notification) }
            if connection.serverSaidGoodbye { return true }
        }
        return false
    }
}
