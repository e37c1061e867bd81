/// A service URL taken apart: `scheme://user:password@host:port/path?key=value&...`, every part percent-decoded.
///
/// The PostgreSQL and AMQP configurations read their URLs with it, then give the parts their own meaning and
/// defaults. A host in brackets is an IPv6 address (`[::1]`, brackets removed). Errors name the part that is wrong
/// and never show the password, nor a port (in `scheme://user:secret` — the host forgotten — the password stands
/// where a port would). ``redacted(isSecret:)`` writes the URL back with `***` for the password.
package struct ServiceURL: Sendable {
    /// The scheme, lower-cased (`postgres`, `amqps`).
    package var scheme: String
    /// The user, or nil when the URL has no `user@`.
    package var user: String?
    /// The password, or nil when the user has no `:password`.
    package var password: String?
    /// The host (empty when the URL names none); an IPv6 address without its brackets.
    package var host: String
    /// The port, when the URL gives one.
    package var port: Int?
    /// The path after the first `/` of the path, decoded; nil when the URL has no path.
    package var path: String?
    /// The path as written (still percent-encoded), to tell `a%2Fb` from `a/b`.
    package var encodedPath: String?
    /// The query items in order, decoded; a key without `=` has an empty value.
    package var queryItems: [(key: String, value: String)]

    /// What is wrong with a URL, without the password.
    package struct Problem: Error, Sendable, Hashable {
        /// The reason (`the port is not a number from 1 to 65535`).
        package var reason: String
    }

    /// Makes a URL from its parts (to print it with ``redacted(isSecret:)``).
    package init(
        scheme: String, user: String? = nil, password: String? = nil, host: String, port: Int? = nil,
        path: String? = nil, queryItems: [(key: String, value: String)] = []
    ) {
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.path = path
        self.encodedPath = path.map(Self.percentEncoded)
        self.queryItems = queryItems
    }

    /// Parses `text`.
    ///
    /// - Parameters:
    ///   - text: the URL.
    ///   - schemes: the schemes accepted (lower case).
    ///   - isSecret: whether a query item's value is a secret, never shown in an error.
    /// - Throws: ``Problem`` naming what is wrong.
    package init(
        parsing text: String, schemes: [String], isSecret: (String) -> Bool = { _ in false }
    ) throws(Problem) {
        let expected = schemes.map { "\($0)://" }.joined(separator: " or ")
        guard let schemeEnd = text.range(of: "://") else { throw Problem(reason: "expected \(expected)...") }
        scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard schemes.contains(scheme) else {
            throw Problem(reason: "the scheme must be \(expected), not \(scheme)://")
        }
        var rest = text[schemeEnd.upperBound...]
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        encodedPath = nil
        if let slash = rest.firstIndex(of: "/") {
            encodedPath = String(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        }
        // A password holding a raw '/', '?' or '#' ends the host early and leaves its tail, '@' and the real host in
        // the path or query, where a message would echo them: refuse without quoting anything. Whatever comes before
        // (a password with an '@' of its own before the '/' splits there too).
        if encodedPath?.contains("@") == true || query.contains("@") {
            throw Problem(
                reason: "an '@' after the host: percent-encode a '/', '?' or '#' in the password (%2F, %3F, %23), "
                    + "and an '@' in the path or query (%40)")
        }
        path = nil
        if let encodedPath { path = try Self.decoded(encodedPath[...], "path") }

        user = nil
        password = nil
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let colon = userInfo.firstIndex(of: ":")
            user = try Self.decoded(userInfo[..<(colon ?? userInfo.endIndex)], "user")
            if let colon {
                password = try Self.decoded(userInfo[userInfo.index(after: colon)...], "password", secret: true)
            }
        }

        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw Problem(reason: "an IPv6 address lacks its ']'") }
            host = try Self.decoded(rest[rest.index(after: rest.startIndex)..<close], "host")
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw Problem(reason: "unexpected text after the IPv6 address")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = try Self.decoded(rest[..<colon], "host")
            portText = rest[rest.index(after: colon)...]
        } else {
            host = try Self.decoded(rest, "host")
        }
        port = nil
        if let portText { port = try Self.port(portText) }

        queryItems = []
        for item in query.split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.decoded(pair[0], "query key")
            let value = try Self.decoded(pair.count > 1 ? pair[1] : "", "value of \(key)", secret: isSecret(key))
            queryItems.append((key, value))
        }
    }

    /// A port number, 1 to 65535.
    ///
    /// - Throws: ``Problem`` that does not echo the text.
    package static func port(_ text: Substring) throws(Problem) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw Problem(reason: "the port is not a number from 1 to 65535")
        }
        return port
    }

    /// The URL with `***` for the password (when there is one) and for the value of every secret query item.
    ///
    /// Nothing is searched for the password's text: it is left out by position, so a password equal to the user
    /// name or to a word of the host shows nothing of itself. An IPv6 host is put in brackets; a host starting with
    /// `/` (a socket directory) is percent-encoded like the other parts.
    package func redacted(isSecret: (String) -> Bool = { _ in false }) -> String {
        var text = scheme + "://"
        if let user {
            text += Self.percentEncoded(user)
            if password != nil { text += ":***" }
            text += "@"
        }
        text += host.contains(":") && !host.hasPrefix("/") ? "[\(host)]" : Self.percentEncoded(host)
        if let port { text += ":\(port)" }
        if let path { text += "/" + Self.percentEncoded(path) }
        if !queryItems.isEmpty {
            text +=
                "?"
                + queryItems.map { key, value in
                    Self.percentEncoded(key) + "=" + (isSecret(key) ? "***" : Self.percentEncoded(value))
                }.joined(separator: "&")
        }
        return text
    }

    /// `text` with every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`) percent-encoded.
    package static func percentEncoded(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `text` percent-decoded; it must be UTF-8 once decoded.
    ///
    /// - Throws: ``Problem`` naming `part`, with the text unless it is `secret`.
    private static func decoded(_ text: Substring, _ part: String, secret: Bool = false) throws(Problem) -> String {
        guard text.contains("%") else { return String(text) }
        func problem(_ what: String) -> Problem {
            Problem(reason: secret ? "the \(part) \(what)" : "the \(part) '\(text)' \(what)")
        }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw problem("is not validly percent-encoded")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw problem("is not UTF-8 once decoded") }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
