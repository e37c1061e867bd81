import Foundation

extension PostgresError {
    /// The error for a failed `PQconnectdbParams`, classified by what libpq reported.
    ///
    /// libpq gives no SQLSTATE for a failed connection, only the message, so the server's refusals of the login are
    /// recognised by their (English) text and given the SQLSTATE the server sent with them: `28P01` for a failed
    /// password, `28000` for an unknown role, a `pg_hba.conf` refusal or another failed authentication, `3D000`
    /// for a missing database, `53300` when the server is full, `57P03` when it is starting or shutting down.
    /// libpq's own refusals of the configuration (an unknown keyword, a bad `sslmode` or other value) become
    /// ``Code/invalidConfiguration``; TLS that cannot be agreed on (the server has none but `sslmode` requires it,
    /// a certificate that does not verify or cannot be read) stays ``Code/connectionFailed`` but is permanent. A
    /// message that matches none of these (a refused or timed-out connection, an unknown host) is transient.
    ///
    /// - Parameters:
    ///   - message: libpq's error message (it holds no password: the password is a keyword of its own).
    ///   - connectTimeout: the `connect_timeout` in seconds, named in the message when it expired.
    static func connectFailure(_ message: String, connectTimeout: Int) -> PostgresError {
        func contains(_ text: String) -> Bool { message.range(of: text, options: .caseInsensitive) != nil }
        if contains("password authentication failed") {
            return PostgresError(.connectionFailed, message, sqlState: SQLState.invalidPassword, severity: "FATAL")
        }
        if contains("no pg_hba.conf entry") || (contains("role \"") && contains("\" does not exist"))
            || contains("authentication failed") || contains("no password supplied")
        {
            return PostgresError(
                .connectionFailed, message, sqlState: SQLState.invalidAuthorization, severity: "FATAL")
        }
        if contains("database \"") && contains("\" does not exist") {
            return PostgresError(.connectionFailed, message, sqlState: SQLState.invalidCatalogName, severity: "FATAL")
        }
        if contains("too many clients") || contains("too many connections")
            || contains("remaining connection slots are reserved")
        {
            return PostgresError(.connectionFailed, message, sqlState: SQLState.tooManyConnections, severity: "FATAL")
        }
        if contains("the database system is") {  // starting up, shutting down, in recovery mode, not yet accepting
            return PostgresError(.connectionFailed, message, sqlState: SQLState.cannotConnectNow, severity: "FATAL")
        }
        if contains("invalid connection option") || contains("invalid port number") || contains("invalid integer value")
            || message.range(of: #"invalid [a-z_]+ value"#, options: .regularExpression) != nil
            || contains("invalid when SSL support is not compiled in")
        {
            return PostgresError(.invalidConfiguration, message)
        }
        if contains("SSL was required") || contains("certificate") || contains("private key file")
            || contains("GSSAPI encryption required")
        {
            var error = PostgresError(.connectionFailed, message)
            error.knownTransience = false
            return error
        }
        if contains("timeout expired") {
            return PostgresError(
                .connectionFailed,
                "\(message) (no answer within connect_timeout = \(connectTimeout) s; the server may be overloaded "
                    + "or something between is swallowing the connection)")
        }
        return PostgresError(.connectionFailed, message)
    }
}
