extension PostgresConfiguration {
    /// The keyword/value pairs handed to `PQconnectdbParams`, password included as its own parameter (so no
    /// connection string holding it exists that libpq could echo in a message), and `connect_timeout` always set.
    ///
    /// Session settings the decoders rely on are added: UTF-8 client encoding, ISO dates, UTC, and exact floats.
    var libpqParameters: [(keyword: String, value: String)] {
        var parameters: [(String, String)] = [
            ("host", host), ("port", String(port)), ("user", user), ("dbname", database),
        ]
        if let password { parameters.append(("password", password)) }
        var options = self.options
        let sessionOptions = "-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=3"
        options["options"] = [options["options"], sessionOptions].compactMap { $0 }.joined(separator: " ")
        options["client_encoding"] = "UTF8"
        if options["application_name"] == nil { options["application_name"] = "swift-batch" }
        options["connect_timeout"] = String(connectTimeoutSeconds)
        for key in options.keys.sorted() {
            parameters.append((key, options[key]!))
        }
        return parameters
    }

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
