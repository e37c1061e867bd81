import Batch

extension PostgresError: TransientClassifying {
    /// Whether trying the same thing again later could succeed, decided by what the error is.
    ///
    /// **Transient** — only the way to the server failed, or the server asks to be asked again:
    /// - ``Code/connectionLost``: the connection broke (the statement may or may not have been applied; whoever
    ///   retries must be able to run it twice, as a chunk or a status write that reads its version is);
    /// - ``Code/connectionFailed``: the server could not be reached, timed out, is starting or shutting down, or is
    ///   full — but not when it refused the login (SQLSTATE class 28: wrong password, unknown role, `pg_hba.conf`),
    ///   the database does not exist (`3D000`), or TLS cannot be agreed on (see ``connectFailure(_:connectTimeout:)``);
    ///   a failed lease from the pool (no connection free in time) is transient too;
    /// - ``Code/transactionAborted`` when the connection broke inside the transaction (running the whole transaction
    ///   again can succeed), not when a statement of it failed;
    /// - ``Code/server`` with SQLSTATE class `08` (connection exception), `57P01`/`57P02`/`57P03`/`57P05` (the
    ///   server or the session is being shut down, the server cannot take connections yet), class `53` except
    ///   `53400` (out of connections, memory or disk), `40001`/`40P01` (serialization failure, deadlock: the
    ///   transaction can succeed when run again), `55P03` (a lock not available in time), and `58000`/`58030`
    ///   (system and I/O errors).
    ///
    /// **Permanent** — the same request fails the same way every time: every other server error (class `22` data
    /// exceptions such as `22021` invalid byte sequences or an out-of-range value, class `23` integrity constraints,
    /// class `42` syntax and access rules, class `28` authorization, ...), ``Code/invalidParameter`` (a string
    /// holding NUL), ``Code/decoding``, ``Code/invalidConfiguration``, ``Code/unexpectedResult``, ``Code/closed``
    /// (the connection was closed on purpose) and ``Code/poolShutDown`` (the process is shutting down: a retry would
    /// meet the same closed pool).
    public var isTransient: Bool {
        if let knownTransience { return knownTransience }
        switch code {
        case .connectionLost:
            return true
        case .connectionFailed:
            // Recovered from the server's refusal of the login (see connectFailure): class 28 or 3D000 is final.
            guard let sqlState else { return true }
            return Self.isTransient(sqlState: sqlState)
        case .transactionAborted:
            return true
        case .server:
            guard let sqlState else { return false }
            return Self.isTransient(sqlState: sqlState)
        default:
            return false
        }
    }

    /// Whether a server error with this SQLSTATE can succeed when tried again (see ``isTransient``).
    ///
    /// - Parameter sqlState: the five-character SQLSTATE.
    /// - Returns: `true` for connection exceptions, shutdowns, exhausted resources, serialization failures,
    ///   deadlocks, lock timeouts and system I/O errors; `false` for everything else.
    public static func isTransient(sqlState: String) -> Bool {
        switch sqlState {
        case "57P01", "57P02", "57P03", "57P05": return true  // shutdown, crash, cannot connect now, idle timeout
        case "40001", "40P01": return true  // serialization failure, deadlock
        case "55P03": return true  // lock_not_available (lock_timeout)
        case "58000", "58030": return true  // system_error, io_error
        case "53400": return false  // configuration_limit_exceeded: the same statement exceeds it again
        default: break
        }
        switch sqlState.prefix(2) {
        case "08": return true  // connection exception
        case "53": return true  // insufficient resources: too many connections, out of memory, disk full
        default: return false
        }
    }
}

extension PostgresError {
    /// The error for a `COMMIT` the server answered with `ROLLBACK`: a statement of the transaction had failed, so
    /// running it again fails again (permanent, unlike a transaction aborted by a broken connection).
    static func rolledBackAtCommit(_ message: String) -> PostgresError {
        var error = PostgresError(.transactionAborted, message, statement: "COMMIT")
        error.knownTransience = false
        return error
    }
}
