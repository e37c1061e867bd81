import Batch
import Foundation

extension PostgresConfiguration {
    /// Parses a PostgreSQL URL: `postgres://user:password@host:port/database?sslmode=require&connect_timeout=5`.
    ///
    /// Every part is percent-decoded; an IPv6 address is written in brackets (`[::1]`); a Unix socket directory is
    /// given percent-encoded as the host (`%2Fvar%2Frun%2Fpostgresql`) or as `?host=/var/run/postgresql`. Query
    /// items are libpq connection keywords; `host`, `port`, `user`, `password` and `dbname` there override the
    /// URL's own parts. The scheme may be `postgres` or `postgresql`. `connect_timeout` (seconds, at least 1) is
    /// ``connectTimeout``.
    ///
    /// - Parameter url: the URL.
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration``; the message never contains
    ///   the password.
    public init(url: String) throws {
        func invalid(_ reason: String) -> PostgresError {
            PostgresError(.invalidConfiguration, "invalid PostgreSQL URL: \(reason)")
        }
        let parts: ServiceURL
        do {
            parts = try ServiceURL(parsing: url, schemes: ["postgres", "postgresql"], isSecret: Self.isSecret)
        } catch {
            throw invalid(error.reason)
        }
        var host = parts.host.isEmpty ? "127.0.0.1" : parts.host
        var port = parts.port ?? 5432
        var user = parts.user ?? ""
        var password = parts.password
        var database = parts.path ?? ""
        if database.isEmpty { database = user }
        var options: [String: String] = [:]
        for (key, value) in parts.queryItems {
            switch key {
            case "host": host = value
            case "port": port = try Self.port(Substring(value), invalid: invalid)
            case "user": user = value
            case "password": password = value
            case "dbname": database = value
            case "connect_timeout": options[key] = try Self.connectTimeout(value, invalid: invalid)
            default: options[key] = value
            }
        }
        guard !user.isEmpty else { throw invalid("no user given") }
        self.init(host: host, port: port, user: user, password: password, database: database, options: options)
    }

    /// Creates a configuration from libpq connection keywords (`host`, `port`, `user`, `password`, `dbname`, and
    /// any others such as `sslmode`, which go to ``options``).
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration`` when `user` is missing or
    ///   `port` is not a port number.
    public init(keywords: [String: String]) throws {
        func invalid(_ reason: String) -> PostgresError {
            PostgresError(.invalidConfiguration, "invalid PostgreSQL connection keywords: \(reason)")
        }
        var options = keywords
        let host = options.removeValue(forKey: "host") ?? "127.0.0.1"
        let port =
            try options.removeValue(forKey: "port").map { try Self.port(Substring($0), invalid: invalid) } ?? 5432
        guard let user = options.removeValue(forKey: "user"), !user.isEmpty else { throw invalid("no user given") }
        let password = options.removeValue(forKey: "password")
        let database = options.removeValue(forKey: "dbname") ?? user
        if let timeout = options["connect_timeout"] {
            options["connect_timeout"] = try Self.connectTimeout(timeout, invalid: invalid)
        }
        self.init(host: host, port: port, user: user, password: password, database: database, options: options)
    }

    /// Reads the configuration from the environment: the URL in `variable` (default `BATCH_DATABASE_URL`), the
    /// schema in `BATCH_DATABASE_SCHEMA` and the pool size in `BATCH_DATABASE_POOL_SIZE` when they are set.
    ///
    /// - Parameters:
    ///   - variable: the variable holding the URL.
    ///   - environment: the environment to read (the process's by default).
    /// - Returns: the configuration, or nil when `variable` is not set.
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration`` when a value is malformed.
    public static func fromEnvironment(
        _ variable: String = "BATCH_DATABASE_URL", environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> PostgresConfiguration? {
        guard let url = environment[variable], !url.isEmpty else { return nil }
        var configuration: PostgresConfiguration
        do {
            configuration = try PostgresConfiguration(url: url)
        } catch var error as PostgresError {
            error.message = "\(variable): " + error.message
            throw error
        }
        if let schema = environment["BATCH_DATABASE_SCHEMA"], !schema.isEmpty {
            configuration.schema = schema
        }
        if let size = try poolSize(in: environment) { configuration.pool.size = size }
        return configuration
    }

    /// The pool size `BATCH_DATABASE_POOL_SIZE` sets, or nil when it is not set.
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration`` when it is not a positive
    ///   integer.
    public static func poolSize(
        in environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Int? {
        guard let size = environment["BATCH_DATABASE_POOL_SIZE"], !size.isEmpty else { return nil }
        guard let value = Int(size), value > 0 else {
            throw PostgresError(
                .invalidConfiguration, "BATCH_DATABASE_POOL_SIZE must be a positive integer, not '\(size.prefix(100))'")
        }
        return value
    }

    private static func port(_ text: Substring, invalid: (String) -> PostgresError) throws -> Int {
        do { return try ServiceURL.port(text) } catch { throw invalid(error.reason) }
    }

    /// Checks a `connect_timeout`: a whole number of seconds, at least 1 (libpq would take 0 as "wait forever").
    private static func connectTimeout(_ text: String, invalid: (String) -> PostgresError) throws -> String {
        guard let seconds = Int(text), seconds > 0 else {
            throw invalid("connect_timeout must be a whole number of seconds, at least 1, not '\(text)'")
        }
        return String(seconds)
    }
}
