import Batch
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
        let parts: ServiceURL
        do {
            parts = try ServiceURL(parsing: url, schemes: ["amqp", "amqps"])
        } catch {
            throw invalid(error.reason)
        }
        if let path = parts.encodedPath, path.contains("/") {
            throw invalid("the virtual host '\(path)' contains '/': write it as %2F")
        }
        let virtualHost = parts.path ?? ""
        self.init(
            host: parts.host.isEmpty ? "127.0.0.1" : parts.host, port: parts.port,
            virtualHost: virtualHost.isEmpty ? "/" : virtualHost, username: parts.user ?? "guest",
            password: parts.password ?? "guest",
            tls: parts.scheme == "amqps" ? TLS() : nil)

        for (key, value) in parts.queryItems {
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
}
