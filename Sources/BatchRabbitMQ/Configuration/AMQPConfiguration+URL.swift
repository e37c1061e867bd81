import Foundation

extension AMQPConfiguration {
    /// The URL used when neither an argument nor the environment names one.
    public static let defaultURL = "amqp://guest:guest@127.0.0.1:5672/%2f"

    /// Parses an AMQP URL, as RabbitMQ's URI specification defines it.
    ///
    /// `amqp://user:pass@host:port/vhost?query` — user, password and virtual host are percent-decoded (`%2f` is the
    /// default virtual host `/`; an empty or missing path is `/` too). `amqps://` connects with TLS, verifying the
    /// broker. Query parameters: `heartbeat` (seconds), `connection_timeout` (milliseconds), `frame_max`,
    /// `cacertfile`, `certfile`, `keyfile`, `verify` (`verify_peer` or `verify_none`), `server_name_indication`
    /// is accepted and ignored, `name` (the connection name).
    ///
    /// - Parameter url: the URL.
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidConfiguration`` naming what is wrong (never the
    ///   password).
    public init(url: String) throws {
        func invalid(_ reason: String) -> AMQPError {
            AMQPError(.invalidConfiguration, "invalid AMQP URL: \(reason)")
        }
        let tls: Bool
        var rest: Substring
        if url.lowercased().hasPrefix("amqp://") {
            tls = false
            rest = url.dropFirst("amqp://".count)
        } else if url.lowercased().hasPrefix("amqps://") {
            tls = true
            rest = url.dropFirst("amqps://".count)
        } else {
            throw invalid("it must start with amqp:// or amqps://")
        }
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var username = "guest"
        var password = "guest"
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                username = try Self.percentDecode(userInfo[..<colon], what: "user name")
                password = try Self.percentDecode(userInfo[userInfo.index(after: colon)...], what: "password")
            } else {
                username = try Self.percentDecode(userInfo, what: "user name")
            }
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("an IPv6 address lacks its closing ']'") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw invalid("unexpected '\(after)' after the host")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        var port: Int?
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                // Not echoed: in `amqp://user:secret` (the host forgotten) the password stands where a port would.
                throw invalid("the port is not a number from 1 to 65535")
            }
            port = value
        }
        let decodedHost = try Self.percentDecode(host, what: "host")
        var virtualHost = try path.map { try Self.percentDecode($0, what: "virtual host") } ?? "/"
        if virtualHost.isEmpty { virtualHost = "/" }
        if path?.contains("/") == true {
            throw invalid("the virtual host '\(path!)' contains '/': write it as %2F")
        }

        self.init(
            host: decodedHost.isEmpty ? "127.0.0.1" : decodedHost, port: port, virtualHost: virtualHost,
            username: username, password: password, tls: tls ? TLS() : nil)

        for item in query.split(separator: "&") where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(pair[0])
            let value = pair.count > 1 ? try Self.percentDecode(pair[1], what: "query parameter \(key)") : ""
            func number(_ range: ClosedRange<Int>) throws -> Int {
                guard let number = Int(value), range.contains(number) else {
                    throw invalid("query parameter \(key)=\(value) is not a number in \(range)")
                }
                return number
            }
            func requireTLS() throws {
                guard self.tls != nil else { throw invalid("query parameter \(key) needs an amqps:// URL") }
            }
            switch key {
            case "heartbeat": heartbeat = .seconds(try number(0...65535))
            case "connection_timeout": connectTimeout = .milliseconds(try number(1...3_600_000))
            case "frame_max": frameMax = try number(4096...(1 << 31 - 1))
            case "name": connectionName = value
            case "cacertfile": try requireTLS(); self.tls?.caFile = value
            case "certfile": try requireTLS(); self.tls?.certificateFile = value
            case "keyfile": try requireTLS(); self.tls?.keyFile = value
            case "verify":
                try requireTLS()
                switch value {
                case "verify_peer": self.tls?.verifyPeer = true; self.tls?.verifyHostname = true
                case "verify_none": self.tls?.verifyPeer = false; self.tls?.verifyHostname = false
                default: throw invalid("query parameter verify=\(value): expected verify_peer or verify_none")
                }
            case "server_name_indication", "auth_mechanism", "channel_max": break
            default:
                throw invalid(
                    "unknown query parameter '\(key)'; known: heartbeat, connection_timeout, frame_max, name,"
                        + " cacertfile, certfile, keyfile, verify")
            }
        }
    }

    /// Reads the configuration from the environment.
    ///
    /// - Parameters:
    ///   - environment: the environment to read; the process's by default.
    ///   - variable: the variable holding the URL; `BATCH_AMQP_URL` by default.
    ///   - defaultURL: the URL used when the variable is unset or empty.
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidConfiguration`` when the URL is malformed; the
    ///   message names the variable but never the password.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        variable: String = "BATCH_AMQP_URL", defaultURL: String = AMQPConfiguration.defaultURL
    ) throws -> AMQPConfiguration {
        let url = environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultURL
        do {
            return try AMQPConfiguration(url: url)
        } catch let error as AMQPError {
            throw AMQPError(.invalidConfiguration, "\(variable): \(error.message)", underlying: error)
        }
    }

    static func percentDecode(_ text: Substring, what: String) throws -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw AMQPError(.invalidConfiguration, "invalid AMQP URL: bad percent-escape in the \(what)")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw AMQPError(.invalidConfiguration, "invalid AMQP URL: the \(what) is not UTF-8 once decoded")
        }
        return string
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func percentEncode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return output
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
