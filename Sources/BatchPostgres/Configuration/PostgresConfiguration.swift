import Batch
import Foundation

/// Where and how to connect to PostgreSQL, the schema swift-batch keeps its tables in, the pool size and the
/// reconnect policy.
///
/// ```swift
/// var configuration = try PostgresConfiguration(url: "postgres://batch:secret@db:5432/batch?sslmode=require")
/// configuration.schema = "batch"
/// configuration.pool.size = 8
/// ```
/// The password is handed to libpq as a separate parameter and never appears in ``description``, logs or errors.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    /// The host name, IP address, or the directory of a Unix socket (starting with `/`).
    public var host: String
    /// The TCP port (also the Unix socket's suffix).
    public var port: Int
    /// The role to log in as.
    public var user: String
    /// The password, if the server asks for one.
    public var password: String?
    /// The database name.
    public var database: String
    /// Further libpq connection keywords (`sslmode`, `sslrootcert`, `application_name`, ...), passed through to
    /// libpq unchanged. TLS is configured here: `["sslmode": "verify-full", ...]`. `connect_timeout` is kept here
    /// too; read and set it as ``connectTimeout``.
    public var options: [String: String]
    /// The schema holding swift-batch's tables (default `batch`); must match `^[a-z_][a-z0-9_]*$`.
    public var schema: String
    /// How many connections the pool keeps, and how long a lease waits.
    public var pool: Pool
    /// How a broken connection is re-established.
    public var reconnect: ReconnectPolicy
    /// Whether a chunk's `COMMIT` waits until its WAL is flushed to disk (PostgreSQL's `synchronous_commit`).
    ///
    /// `true` (the default) makes every committed chunk durable before the step goes on. `false` lets chunk
    /// commits return before the flush (PostgreSQL flushes within a few hundred milliseconds): faster, and still
    /// consistent — a chunk's rows and its step checkpoint commit or vanish together, and every status change is
    /// flushed, taking all earlier chunks with it — but a crash of the database server can lose the last chunks a
    /// step believed committed, which a restart then does again.
    public var synchronousChunkCommit: Bool

    /// How long one connection attempt may take — reaching the server, TLS, the startup exchange and
    /// authentication — before it fails (libpq's `connect_timeout`; `?connect_timeout=` in a URL, in seconds).
    /// Default 5 s.
    ///
    /// It bounds the wait for a server that accepts the TCP connection but never answers, which otherwise lasts as
    /// long as the operating system lets a connection hang. libpq counts whole seconds, so the value is rounded up
    /// to at least one second; it applies to each address a host name resolves to. A timed-out attempt is
    /// transient: the ``reconnect`` policy tries again. A `connect_timeout` option that is not a positive whole
    /// number (set directly in ``options``; URLs and keywords refuse it) counts as the default.
    public var connectTimeout: Duration {
        get { .seconds(connectTimeoutSeconds) }
        set {
            let (seconds, attoseconds) = newValue.components
            let whole = max(1, seconds + (attoseconds > 0 ? 1 : 0))
            options["connect_timeout"] = String(whole)
        }
    }

    /// ``connectTimeout`` in whole seconds, as libpq takes it.
    var connectTimeoutSeconds: Int {
        guard let text = options["connect_timeout"], let seconds = Int(text), seconds > 0 else {
            return Self.defaultConnectTimeoutSeconds
        }
        return seconds
    }

    /// The default ``connectTimeout``, in seconds.
    static let defaultConnectTimeoutSeconds = 5

    /// The pool's settings.
    public struct Pool: Sendable, Hashable {
        /// The most connections open at once (at least 1).
        public var size: Int
        /// How long ``PostgresConnectionPool/withConnection(_:)`` waits for a free connection before failing;
        /// nil waits as long as it takes.
        public var leaseTimeout: Duration?

        /// Creates pool settings.
        public init(size: Int = 4, leaseTimeout: Duration? = .seconds(60)) {
            self.size = size
            self.leaseTimeout = leaseTimeout
        }
    }

    /// Bounded exponential backoff for re-establishing a broken connection.
    public struct ReconnectPolicy: Sendable, Hashable {
        /// How many connection attempts to make before giving up (at least 1).
        public var maxAttempts: Int
        /// The wait before the second attempt.
        public var initialDelay: Duration
        /// The longest wait between two attempts.
        public var maxDelay: Duration

        /// Creates a policy. The default tries 8 times over about 12 seconds.
        public init(maxAttempts: Int = 8, initialDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(4))
        {
            self.maxAttempts = maxAttempts
            self.initialDelay = initialDelay
            self.maxDelay = maxDelay
        }

        /// The wait before attempt `attempt` (1-based; the first attempt does not wait).
        public func delay(beforeAttempt attempt: Int) -> Duration {
            guard attempt > 1 else { return .zero }
            var delay = initialDelay
            for _ in 2..<attempt {
                delay = delay * 2
                if delay >= maxDelay { return maxDelay }
            }
            return min(delay, maxDelay)
        }
    }

    /// Creates a configuration from its parts.
    ///
    /// - Parameters:
    ///   - host: host name, address or Unix socket directory.
    ///   - port: the port.
    ///   - user: the role.
    ///   - password: the password, if any.
    ///   - database: the database.
    ///   - options: further libpq keywords (`sslmode`, `connect_timeout` in seconds, ...).
    ///   - schema: the schema for swift-batch's tables.
    public init(
        host: String = "127.0.0.1", port: Int = 5432, user: String, password: String? = nil, database: String,
        options: [String: String] = [:], schema: String = "batch"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.options = options
        self.schema = schema
        self.pool = Pool()
        self.reconnect = ReconnectPolicy()
        self.synchronousChunkCommit = true
    }

    /// The configuration as a URL with `***` where the password is (and as the value of every other secret
    /// keyword, such as `sslpassword`), plus the schema and pool size:
    /// `postgres://batch:***@db:5432/jobs?sslmode=require (schema batch, pool 4)`.
    ///
    /// The password is left out by position, never by searching for its text, so a password that happens to equal
    /// the user name or a word of the URL leaves them as they are and gives nothing away.
    public var description: String {
        let url = ServiceURL(
            scheme: "postgres", user: user, password: password, host: host, port: port, path: database,
            queryItems: options.keys.sorted().map { ($0, options[$0]!) })
        return url.redacted(isSecret: Self.isSecret) + " (schema \(schema), pool \(pool.size))"
    }

    /// Whether a libpq keyword holds a secret (`password`, `sslpassword`, ...), so its value is never shown.
    static func isSecret(_ keyword: String) -> Bool { keyword.lowercased().contains("password") }
}

extension PostgresConfiguration: CustomReflectable {
    /// Every field, with `***` for the password and for every secret option, so that `dump` does not print them.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "port": port, "user": user, "password": password.map { _ in "***" } as Any,
                "database": database,
                "options": Dictionary(
                    uniqueKeysWithValues: options.map { ($0.key, Self.isSecret($0.key) ? "***" : $0.value) }),
                "schema": schema, "pool": pool, "reconnect": reconnect,
                "synchronousChunkCommit": synchronousChunkCommit,
            ],
            displayStyle: .struct)
    }
}
