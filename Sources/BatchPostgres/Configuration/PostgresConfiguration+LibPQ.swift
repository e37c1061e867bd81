extension PostgresConfiguration {
    /// The keyword/value pairs handed to `PQconnectdbParams`, password included as its own parameter (so no
    /// connection string holding it exists that libpq could echo in a message), and `connect_timeout` always set.
    ///
    /// Session settings the decoders rely on are added: UTF-8 client encoding, ISO dates, UTC, exact floats and
    /// hex `bytea` (a database or role may set `escape`).
    var libpqParameters: [(keyword: String, value: String)] {
        var parameters: [(String, String)] = [
            ("host", host), ("port", String(port)), ("user", user), ("dbname", database),
        ]
        if let password { parameters.append(("password", password)) }
        var options = self.options
        let sessionOptions =
            "-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex"
        options["options"] = [options["options"], sessionOptions].compactMap { $0 }.joined(separator: " ")
        options["client_encoding"] = "UTF8"
        if options["application_name"] == nil { options["application_name"] = "swift-batch" }
        options["connect_timeout"] = String(connectTimeoutSeconds)
        for (key, value) in Self.deadPeerDefaults where options[key] == nil { options[key] = value }
        for key in options.keys.sorted() {
            parameters.append((key, options[key]!))
        }
        return parameters
    }

    /// How a connection notices a database host that vanished without closing it (powered off, cut off by a
    /// network fault), unless the URL sets them: TCP keepalive probes after 30 s of silence, every 10 s, 3 unanswered
    /// ending the connection; and sent data left unacknowledged for 60 s ending it too. A statement waiting on such
    /// a connection then fails as a lost connection within about a minute, instead of holding its pooled connection
    /// for the kernel's default of over two hours.
    static let deadPeerDefaults = [
        ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"), ("keepalives_count", "3"),
        ("tcp_user_timeout", "60000"),
    ]

    /// The schema name, checked against `^[a-z_][a-z0-9_]*$` (it is configuration, spliced into SQL as an
    /// identifier) and quoted.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration`` for any other name.
    func quotedSchema() throws -> String {
        try Self.quotedIdentifier(schema, what: "schema")
    }

    /// Checks a configured identifier against `^[a-z_][a-z0-9_]*$` (at most 63 bytes) and returns it double-quoted.
    static func quotedIdentifier(_ name: String, what: String) throws -> String {
        let bytes = Array(name.utf8)
        let valid =
            !bytes.isEmpty && bytes.count <= 63
            && bytes.enumerated().allSatisfy { index, byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
                    || (index > 0 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            }
        guard valid else {
            throw PostgresError(
                .invalidConfiguration,
                "the \(what) name '\(name)' is not allowed: use lower-case letters, digits and underscores, "
                    + "starting with a letter or underscore, at most 63 characters")
        }
        return "\"\(name)\""
    }
}
