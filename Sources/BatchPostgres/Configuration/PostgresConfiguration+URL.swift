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
        var rest = Substring(url)
        guard let schemeEnd = rest.range(of: "://") else {
            throw invalid("expected postgres://user:password@host:port/database")
        }
        let scheme = rest[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("the scheme must be postgres:// or postgresql://, not \(scheme)://")
        }
        rest = rest[schemeEnd.upperBound...]

        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var authority = rest

        var user = ""
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.decode(userInfo[..<colon], what: "user", invalid: invalid)
                // The password's own text is never put into an error message.
                guard let decoded = String(userInfo[userInfo.index(after: colon)...]).removingPercentEncoding else {
                    throw invalid("the password is not validly percent-encoded")
                }
                password = decoded
            } else {
                user = try Self.decode(userInfo, what: "user", invalid: invalid)
            }
        }

        var host = "127.0.0.1"
        var port = 5432
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unterminated [ in the host") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                port = try Self.port(after.dropFirst(), invalid: invalid)
            } else if !after.isEmpty {
                throw invalid("unexpected text after the IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            let name = authority[..<colon]
            if !name.isEmpty { host = try Self.decode(name, what: "host", invalid: invalid) }
            port = try Self.port(authority[authority.index(after: colon)...], invalid: invalid)
        } else if !authority.isEmpty {
            host = try Self.decode(authority, what: "host", invalid: invalid)
        }

        var database = try Self.decode(path, what: "database", invalid: invalid)
        if database.isEmpty { database = user }

        var options: [String: String] = [:]
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.decode(pair[0], what: "query key", invalid: invalid)
            let value: String
            if Self.isSecret(key) {
                guard let decoded = String(pair.count > 1 ? pair[1] : "").removingPercentEncoding else {
                    throw invalid("the value of \(key) is not validly percent-encoded")
                }
                value = decoded
            } else {
                value = try Self.decode(pair.count > 1 ? pair[1] : "", what: key, invalid: invalid)
            }
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
        if let size = environment["BATCH_DATABASE_POOL_SIZE"], !size.isEmpty {
            guard let value = Int(size), value > 0 else {
                throw PostgresError(
                    .invalidConfiguration, "BATCH_DATABASE_POOL_SIZE must be a positive integer, not '\(size)'")
            }
            configuration.pool.size = value
        }
        return configuration
    }

    private static func decode(
        _ text: Substring, what: String, invalid: (String) -> PostgresError
    ) throws -> String {
        guard let decoded = String(text).removingPercentEncoding else {
            throw invalid("the \(what) '\(text)' is not validly percent-encoded")
        }
        return decoded
    }

    private static func port(_ text: Substring, invalid: (String) -> PostgresError) throws -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            // Not echoed: in `postgres://user:secret` (the host forgotten) the password stands where a port would.
            throw invalid("the port is not a number from 1 to 65535")
        }
        return port
    }

    /// Checks a `connect_timeout`: a whole number of seconds, at least 1 (libpq would take 0 as "wait forever").
    private static func connectTimeout(_ text: String, invalid: (String) -> PostgresError) throws -> String {
        guard let seconds = Int(text), seconds > 0 else {
            throw invalid("connect_timeout must be a whole number of seconds, at least 1, not '\(text)'")
        }
        return String(seconds)
    }
}
