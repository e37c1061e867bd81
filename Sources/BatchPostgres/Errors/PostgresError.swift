import Foundation

/// An error from PostgreSQL or from talking to it: a code to match on, the server's SQLSTATE and fields when the
/// server reported it, and a message that never contains the connection password.
///
/// The password never gets into a message in the first place: it goes to libpq as a keyword of its own (never
/// inside a connection string libpq could echo), and configurations print their URL with `***` in its place.
/// Messages are not searched for the password's text, so they reach you exactly as libpq and the server wrote them.
///
/// Whether trying again could succeed is ``isTransient`` (see `PostgresError+Transient.swift`).
///
/// ```swift
/// do { try await connection.query("INSERT ...", [...]) }
/// catch let error as PostgresError where error.sqlState == PostgresError.SQLState.uniqueViolation { ... }
/// ```
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connectionFailed, connectionLost, server, invalidParameter, decoding, invalidConfiguration
            case transactionAborted, poolShutDown, closed, unexpectedResult
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No connection could be made (after the reconnect policy's attempts).
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection broke while a statement was in flight: it may or may not have been applied, and it was
        /// not repeated. The next statement reconnects.
        public static let connectionLost = Code(.connectionLost)
        /// The server refused the statement; see ``PostgresError/sqlState`` and the other server fields.
        public static let server = Code(.server)
        /// A parameter cannot be sent (for example a string holding NUL, which PostgreSQL text cannot store).
        public static let invalidParameter = Code(.invalidParameter)
        /// A result value could not be decoded into the Swift type asked for.
        public static let decoding = Code(.decoding)
        /// The configuration is not valid (a malformed URL, a bad schema name, ...).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The connection broke inside a transaction; nothing more runs until the transaction block ends.
        public static let transactionAborted = Code(.transactionAborted)
        /// The pool was shut down.
        public static let poolShutDown = Code(.poolShutDown)
        /// The connection was closed.
        public static let closed = Code(.closed)
        /// The server answered in a way the caller did not expect (for example no row where one was needed).
        public static let unexpectedResult = Code(.unexpectedResult)

        /// The code's name, for logs.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened (the server's primary message for server errors), without the password.
    public var message: String
    /// The five-character SQLSTATE when the server reported the error (`"23505"` for a unique violation).
    public var sqlState: String?
    /// The server's severity (`ERROR`, `FATAL`, `PANIC`), when it reported the error.
    public var severity: String?
    /// The server's detail line, if any.
    public var detail: String?
    /// The server's hint, if any.
    public var hint: String?
    /// The constraint (or index) that was violated, if any.
    public var constraintName: String?
    /// The table the error concerns, if the server said.
    public var tableName: String?
    /// The schema of that table, if the server said.
    public var schemaName: String?
    /// The statement that failed, when there was one (its text only; parameters are never included).
    public var statement: String?
    /// Set where the error is made when its code and SQLSTATE do not tell whether trying again could succeed (a
    /// transaction rolled back because one of its statements failed, a TLS mismatch): see ``isTransient``.
    var knownTransience: Bool?

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, sqlState: String? = nil, severity: String? = nil, detail: String? = nil,
        hint: String? = nil, constraintName: String? = nil, tableName: String? = nil, schemaName: String? = nil,
        statement: String? = nil
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.severity = severity
        self.detail = detail
        self.hint = hint
        self.constraintName = constraintName
        self.tableName = tableName
        self.schemaName = schemaName
        self.statement = statement
    }

    /// One line: the message, the SQLSTATE, the detail and the constraint when present, and the code.
    public var description: String {
        var text = message
        if let severity, let sqlState { text = "\(severity) \(sqlState): " + text }
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        if let constraintName { text += " [constraint \(constraintName)]" }
        return text + " [\(code)]"
    }
}

extension PostgresError {
    /// SQLSTATE values the framework reacts to.
    public enum SQLState {
        /// `unique_violation`.
        public static let uniqueViolation = "23505"
        /// `foreign_key_violation`.
        public static let foreignKeyViolation = "23503"
        /// `serialization_failure`.
        public static let serializationFailure = "40001"
        /// `deadlock_detected`.
        public static let deadlockDetected = "40P01"
        /// `admin_shutdown`: the server is shutting down or the backend was terminated.
        public static let adminShutdown = "57P01"
        /// `crash_shutdown`: another server process crashed; the server is restarting.
        public static let crashShutdown = "57P02"
        /// `cannot_connect_now`: the server is starting up, shutting down or in recovery.
        public static let cannotConnectNow = "57P03"
        /// `too_many_connections`: every connection slot is taken.
        public static let tooManyConnections = "53300"
        /// `invalid_authorization_specification`: the role does not exist or `pg_hba.conf` refuses the connection.
        public static let invalidAuthorization = "28000"
        /// `invalid_password`: password authentication failed.
        public static let invalidPassword = "28P01"
        /// `invalid_catalog_name`: the database does not exist.
        public static let invalidCatalogName = "3D000"
        /// `character_not_in_repertoire`: a byte sequence that is not valid in the encoding (or a NUL).
        public static let characterNotInRepertoire = "22021"
        /// `undefined_table`.
        public static let undefinedTable = "42P01"
        /// `syntax_error`.
        public static let syntaxError = "42601"
    }
}
