import CLibPQ
import Foundation
import Logging
import Synchronization

/// One PostgreSQL connection: it owns a libpq `PGconn` in non-blocking mode.
///
/// No libpq call blocks a thread: statements are sent from the caller's task and, while the server works, the task
/// is suspended in the process's socket poller (one `epoll` thread for every connection), not holding one of Swift's
/// cooperative threads; connecting, which blocks in libpq, runs on a short-lived thread of its own.
/// Statements go through `PQsendQueryParams` (or `PQsendQueryPrepared`), values always separate from the SQL text.
///
/// **Broken connections.** Before each statement the connection checks whether the server has already closed it
/// (after a restart, say); if so it reconnects with the configuration's bounded backoff and then sends the statement.
/// If the connection breaks while a statement is in flight, the statement may or may not have been applied: it is
/// never repeated, and the call throws ``PostgresError/Code/connectionLost``. Inside a transaction a broken connection
/// aborts the transaction: every further statement of it fails with ``PostgresError/Code/transactionAborted``.
///
/// A connection serves one task at a time (the pool hands each to one user); statements from tasks sharing one
/// connection would interleave inside each other's transactions, so a second task reaching a connection while the
/// first waits for the server stops the process (a precondition: a programming error, not a runtime condition).
public actor PostgresConnection {
    /// The configuration the connection was made with.
    public nonisolated let configuration: PostgresConfiguration
    let logger: Logger
    /// The libpq connection; nil before the first connect, after a break, and after ``close()``.
    var connection: LibPQHandle?
    /// Whether ``close()`` was called.
    public private(set) var isClosed = false {
        didSet { closedMirror.store(isClosed, ordering: .releasing) }
    }
    /// Set while a call waits for the socket (the only time another call can reach the actor mid-statement).
    var isWaitingForSocket = false
    /// How many `withTransaction` blocks are open.
    var transactionDepth = 0 {
        didSet { depthMirror.store(transactionDepth, ordering: .releasing) }
    }
    /// ``isClosed`` and ``transactionDepth`` as the pool reads them, without waiting for the connection's actor.
    private nonisolated let closedMirror = Atomic<Bool>(false)
    private nonisolated let depthMirror = Atomic<Int>(0)
    /// Set by ``requestBegin(asynchronousCommit:)``: the next statement opens the transaction block first (see
    /// `takeRequestedBegin()`). 0: none; 1: `BEGIN`; 2: `BEGIN` and `SET LOCAL synchronous_commit = off`.
    nonisolated let beginRequested = Atomic<UInt8>(0)
    /// Set when the connection broke inside a transaction; cleared when the outermost transaction block ends.
    var transactionAborted = false
    /// How many times a connection was established (1 after the first connect).
    public internal(set) var connectCount = 0
    /// What was sent in pipeline mode and whose results have not been read yet (see `pipelineSend`).
    var pipelined: [PipelinedCommand] = [] {
        didSet { pipelineEmptyMirror.store(pipelined.isEmpty, ordering: .releasing) }
    }
    /// Whether ``pipelined`` is empty, as the pool reads it.
    private nonisolated let pipelineEmptyMirror = Atomic<Bool>(true)
    /// The names of the statements prepared in the current session, by SQL text.
    var preparedStatements: [String: String] = [:]
    /// Numbers the prepared statements' names (never reused within a session).
    var preparedCounter = 0
    /// How many statements were sent on this connection (for benchmarks and the constant-cost-per-launch check).
    public internal(set) var statementCount = 0
    /// How many times this connection waited for the server's answer: each statement run alone and each
    /// preparation count one, a pipeline (however many statements it holds) one, a `COPY` one per piece. What the
    /// round-trips-per-job tests and benchmarks count.
    public internal(set) var roundTripCount = 0

    /// Opens a connection.
    ///
    /// - Parameters:
    ///   - configuration: where to connect; its reconnect policy also governs this first connect.
    ///   - logger: for connection events (connection retries at warning, reconnects at info, the rest at debug).
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/connectionFailed`` when every attempt failed.
    public static func connect(configuration: PostgresConfiguration, logger: Logger) async throws -> PostgresConnection
    {
        let connection = PostgresConnection(configuration: configuration, logger: logger)
        try await connection.ensureConnected()
        return connection
    }

    /// Creates a connection object that connects on its first statement.
    ///
    /// - Parameters:
    ///   - configuration: where to connect.
    ///   - logger: for connection events.
    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Closes the connection; further statements fail with ``PostgresError/Code/closed``. A statement in flight
    /// (its call waiting for the server) still gets its answer; its connection is finished with the actor.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if !isWaitingForSocket { connection = nil }
    }

    /// Whether the pool may hand the connection to the next user: open, with no transaction block open or
    /// requested, and no pipelined statement left unread (a caller that failed between two sends). Read without
    /// waiting for the connection's actor.
    nonisolated var isReusable: Bool {
        !closedMirror.load(ordering: .acquiring) && depthMirror.load(ordering: .acquiring) == 0
            && beginRequested.load(ordering: .acquiring) == 0 && pipelineEmptyMirror.load(ordering: .acquiring)
    }

    /// Asks for a transaction block without a round trip of its own: `BEGIN` goes out with the next statement (in
    /// the same pipeline, or ahead of a `COPY` in the same message). Callable from any thread.
    ///
    /// - Parameter asynchronousCommit: the block's `COMMIT` does not wait for the WAL flush
    ///   (`SET LOCAL synchronous_commit = off` follows the `BEGIN`).
    nonisolated func requestBegin(asynchronousCommit: Bool = false) {
        beginRequested.store(asynchronousCommit ? 2 : 1, ordering: .releasing)
    }

    /// Consumes a requested `BEGIN`: the block counts as open from here on. Returns the statements the caller must
    /// send ahead of its own (none when no `BEGIN` was requested).
    func takeRequestedBegin() -> [String] {
        let requested = beginRequested.exchange(0, ordering: .acquiringAndReleasing)
        guard requested != 0 else { return [] }
        precondition(transactionDepth == 0, "a requested BEGIN opens the outermost transaction block")
        transactionDepth = 1
        return requested == 2 ? ["BEGIN", "SET LOCAL synchronous_commit = off"] : ["BEGIN"]
    }

    /// The server process id of the current session (for `pg_terminate_backend` in tests and diagnostics), or nil
    /// when not connected.
    public var backendProcessID: Int32? {
        guard let handle = connection?.pointer, PQstatus(handle) == CONNECTION_OK else { return nil }
        return PQbackendPID(handle)
    }

    /// The socket of the current session, or nil when not connected.
    var socketDescriptor: Int32? {
        connection.map { PQsocket($0.pointer) }.flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Runs one statement with parameters and returns its rows.
    ///
    /// ```swift
    /// let rows = try await connection.query("SELECT id, status FROM batch.job_executions WHERE id = $1", [.int(42)])
    /// ```
    /// - Parameters:
    ///   - sql: one SQL statement with `$1`, `$2`, ... placeholders.
    ///   - parameters: the values, in placeholder order; nil is `NULL`.
    /// - Throws: ``PostgresError``: ``PostgresError/Code/server`` with the SQLSTATE for a refused statement,
    ///   ``PostgresError/Code/connectionLost`` when the connection broke with the statement in flight (not
    ///   repeated), ``PostgresError/Code/invalidParameter`` for a value PostgreSQL cannot hold.
    /// - Parameter prepared: keep the statement prepared on this connection (`PQprepare` once, then
    ///   `PQexecPrepared`), which saves the server parsing and planning it again: for statements run often.
    @discardableResult
    public func query(
        _ sql: String, _ parameters: [PostgresValue?] = [], prepared: Bool = false
    ) async throws -> PostgresRows {
        let encoded = try parameters.enumerated().map { position, value in
            try value.map {
                PostgresEncodedParameter.text(try $0.textEncoding(position: position + 1), typeOID: $0.typeOID)
            }
        }
        return try await query(sql, encoded: encoded, prepared: prepared)
    }

    /// Refuses `sql` when the connection broke inside the current transaction, which the server has rolled back.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/transactionAborted``.
    func refuseIfTransactionAborted(_ sql: String) throws {
        guard transactionAborted else { return }
        throw PostgresError(
            .transactionAborted,
            "the connection broke inside this transaction, so the server rolled it back; "
                + "end the transaction block and start again",
            statement: sql)
    }

    /// Runs one statement with parameters already encoded (nil is NULL).
    @discardableResult
    func query(
        _ sql: String, encoded parameters: [PostgresEncodedParameter?], prepared: Bool = false
    ) async throws -> PostgresRows {
        try refuseIfTransactionAborted(sql)
        try await sendRequestedBegin()
        if !pipelined.isEmpty {
            // Statements sent ahead (a chunk's BEGIN and inserts): their outcome comes first.
            try await pipelineSync()
        }
        let handle = try await liveHandle(for: sql)
        statementCount += 1
        return try await execute(sql, parameters, prepared: prepared, on: handle)
    }

    /// Sends a statement on a live handle: one `PQsendQueryParams` (or `PQsendQueryPrepared`, preparing it first if
    /// needed), its result copied out and cleared.
    private func execute(
        _ sql: String, _ parameters: [PostgresEncodedParameter?], prepared: Bool, on handle: OpaquePointer
    ) async throws -> PostgresRows {
        var name: String?
        if prepared {
            name = try await prepareIfNeeded(sql, types: parameters.map { $0?.typeOID ?? 0 }, on: handle)
        }
        roundTripCount += 1
        let sent = withLibPQArguments(parameters) { count, values, types, lengths, formats in
            if let name {
                PQsendQueryPrepared(handle, name, count, values, lengths, formats, 0)
            } else {
                PQsendQueryParams(handle, sql, count, types, values, lengths, formats, 0)
            }
        }
        let result = sent == 1 ? await finalResult(handle) : nil
        defer { PQclear(result) }
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.rows(from: result!)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            if status == PGRES_COPY_IN {
                // Leave COPY mode so the connection stays usable; COPY has its own API.
                if await putCopyEnd(failure: "COPY is not supported through query(_:_:)", on: handle) {
                    while let pending = await nextResult(handle) { PQclear(pending) }
                } else {
                    endSession()  // libpq stays in COPY mode: every further result would be another COPY_IN
                }
            } else {
                // A COPY out would have to be read to its end: end the session instead.
                endSession()
            }
            throw PostgresError(
                .unexpectedResult, "COPY statements cannot be run through query(_:_:); use copyIn(_:data:)",
                statement: sql)
        default:
            throw failure(of: sql, result: result, handle: handle)
        }
    }

    /// Drops the session when its protocol state can no longer be trusted (a COPY out left unread, a sync or a COPY
    /// end libpq could not queue): the next statement reconnects, and a transaction block open on it is gone (its
    /// statements fail with ``PostgresError/Code/transactionAborted`` until it ends).
    func endSession() {
        connection = nil
        pipelined = []
        if transactionDepth > 0 { transactionAborted = true }
    }

    /// The name `sql` is prepared under in this session, preparing it (one round trip) the first time.
    private func prepareIfNeeded(_ sql: String, types: [UInt32], on handle: OpaquePointer) async throws -> String {
        if let name = preparedStatements[sql] { return name }
        preparedCounter += 1
        let name = "swift_batch_\(preparedCounter)"
        roundTripCount += 1
        let sent = types.withUnsafeBufferPointer { types in
            PQsendPrepare(handle, name, sql, Int32(types.count), types.baseAddress)
        }
        let result = sent == 1 ? await finalResult(handle) : nil
        defer { PQclear(result) }
        guard let result, PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw failure(of: sql, result: result, handle: handle)
        }
        preparedStatements[sql] = name
        return name
    }

    /// Calls `body` with an array of pointers to the parameters' bytes (nil for NULL), valid during the call: the
    /// bytes are copied into one buffer that lives until `body` returns.
    /// Calls `body` with the parameters laid out as libpq's exec and send functions take them: their count, their
    /// values (pinned for the call), type OIDs, lengths and formats.
    func withLibPQArguments<Result>(
        _ parameters: [PostgresEncodedParameter?],
        _ body: (
            _ count: Int32, _ values: UnsafePointer<UnsafePointer<CChar>?>?, _ types: UnsafePointer<UInt32>?,
            _ lengths: UnsafePointer<Int32>?, _ formats: UnsafePointer<Int32>?
        ) -> Result
    ) -> Result {
        let types = parameters.map { $0?.typeOID ?? 0 }
        let formats = parameters.map { Int32($0?.isBinary == true ? 1 : 0) }
        let lengths = parameters.map { Int32($0?.bytes.count ?? 0) }
        return withPinnedBytes(parameters) { values in
            types.withUnsafeBufferPointer { types in
                formats.withUnsafeBufferPointer { formats in
                    lengths.withUnsafeBufferPointer { lengths in
                        body(
                            Int32(parameters.count), values, types.baseAddress, lengths.baseAddress, formats.baseAddress
                        )
                    }
                }
            }
        }
    }

    private func withPinnedBytes<Result>(
        _ parameters: [PostgresEncodedParameter?],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> Result
    ) -> Result {
        let total = parameters.reduce(0) { $0 + ($1?.bytes.count ?? 0) }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, total), alignment: 1)
        defer { storage.deallocate() }
        var pointers = [UnsafePointer<CChar>?](repeating: nil, count: parameters.count)
        var offset = 0
        for (index, parameter) in parameters.enumerated() {
            guard let parameter else { continue }
            let start = storage.baseAddress! + offset
            parameter.bytes.withUnsafeBytes { bytes in
                if bytes.count > 0 { start.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            }
            // Even an empty value gets a non-NULL pointer (NULL means SQL NULL).
            pointers[index] = UnsafePointer(start.assumingMemoryBound(to: CChar.self))
            offset += parameter.bytes.count
        }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// The error for a failed statement: a server error, or a lost connection when the handle went bad.
    func failure(of sql: String, result: OpaquePointer?, handle: OpaquePointer) -> PostgresError {
        var error = Self.serverError(result: result, handle: handle)
        error.statement = sql
        if PQstatus(handle) == CONNECTION_BAD {
            error.code = .connectionLost
            error.message =
                "the connection to PostgreSQL was lost while the statement was in flight; it may or may not have "
                + "been applied and was not repeated (\(error.message))"
            if transactionDepth > 0 { transactionAborted = true }
            logger.info(
                "PostgreSQL connection lost during a statement",
                metadata: ["postgres.error": "\(error.message)"])
        } else {
            logger.debug(
                "PostgreSQL statement failed",
                metadata: ["postgres.sqlstate": "\(error.sqlState ?? "")", "postgres.error": "\(error.message)"])
        }
        return error
    }

    static func serverError(result: OpaquePointer?, handle: OpaquePointer?) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let result, let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        if let primary = field("M") {
            return PostgresError(
                .server, primary, sqlState: field("C"), severity: field("V") ?? field("S"), detail: field("D"),
                hint: field("H"), constraintName: field("n"), tableName: field("t"), schemaName: field("s"))
        }
        let message =
            result.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
            ?? handle.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "unknown libpq error"
        return PostgresError(.server, message.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func rows(from result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { column in
            PostgresColumn(
                name: String(cString: PQfname(result, Int32(column))), typeOID: PQftype(result, Int32(column)))
        }
        var cells: [[String?]] = []
        cells.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, row, column)))
                }
            }
            cells.append(values)
        }
        let tuples = String(cString: PQcmdTuples(result))
        return PostgresRows(
            columns: columns, cells: cells, affectedRows: Int(tuples) ?? rowCount,
            commandTag: String(cString: PQcmdStatus(result)))
    }
}
