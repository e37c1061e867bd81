import Batch
import Foundation

/// Where and how to connect to RabbitMQ.
///
/// Build one from a URL (`amqp://user:pass@host:5672/vhost`, `amqps://...` for TLS), from the environment
/// (``fromEnvironment(_:variable:defaultURL:)`` reads `BATCH_AMQP_URL`), or field by field. The password never
/// appears in ``description``, in `dump`, in a log line or in an error.
public struct AMQPConfiguration: Sendable {
    /// TLS settings for `amqps://` connections, applied to librabbitmq's `amqp_ssl_socket`.
    public struct TLS: Sendable, Hashable {
        /// A PEM file of the certificate authorities that may sign the broker's certificate; `nil` uses none.
        public var caFile: String?
        /// Whether the broker's certificate must be signed by a trusted authority. Default `true`.
        public var verifyPeer: Bool
        /// Whether the broker's certificate must name the host connected to. Default `true`.
        public var verifyHostname: Bool
        /// A PEM client certificate, for brokers that authenticate clients by certificate.
        public var certificateFile: String?
        /// The private key of ``certificateFile``.
        public var keyFile: String?

        /// Creates TLS settings that verify the broker against `caFile`.
        public init(
            caFile: String? = nil, verifyPeer: Bool = true, verifyHostname: Bool = true,
            certificateFile: String? = nil, keyFile: String? = nil
        ) {
            self.caFile = caFile
            self.verifyPeer = verifyPeer
            self.verifyHostname = verifyHostname
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    /// How a lost connection is re-established: exponential backoff from ``initialDelay`` to ``maximumDelay``,
    /// each delay moved at random by up to ``jitter`` of itself so that many workers do not reconnect in step.
    public struct Reconnect: Sendable, Hashable {
        /// The delay before the first attempt. Default 100 ms.
        public var initialDelay: Duration
        /// The longest delay between attempts. Default 10 s.
        public var maximumDelay: Duration
        /// The fraction (0...1) by which each delay varies at random. Default 0.2.
        public var jitter: Double

        /// Creates a reconnect policy.
        public init(
            initialDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(10), jitter: Double = 0.2
        ) {
            self.initialDelay = initialDelay
            self.maximumDelay = maximumDelay
            self.jitter = jitter
        }
    }

    /// The broker's host name or address. Default `127.0.0.1`.
    public var host: String
    /// The broker's port. Default 5672, or 5671 with TLS.
    public var port: Int
    /// The virtual host. Default `/`.
    public var virtualHost: String
    /// The user name. Default `guest`.
    public var username: String
    /// The password. Default `guest`. Never printed.
    public var password: String
    /// TLS settings; `nil` for a plain TCP connection.
    public var tls: TLS?
    /// The heartbeat asked of the broker; 0 turns heartbeats off. Default 30 s.
    public var heartbeat: Duration
    /// How long to wait for the TCP (and TLS) connection and the AMQP handshake. Default 10 s.
    public var connectTimeout: Duration
    /// How long to wait for the broker's answer to a declaration, a consume or a cancel. Default 30 s.
    public var rpcTimeout: Duration
    /// The largest frame asked for, in bytes. Default 131072.
    public var frameMax: Int
    /// The connection name shown in the management UI (`connection_name`), if any.
    public var connectionName: String?
    /// How a lost connection is re-established.
    public var reconnect: Reconnect

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - host: the broker's host name or address.
    ///   - port: the broker's port; `nil` for 5672, or 5671 with TLS.
    ///   - virtualHost: the virtual host.
    ///   - username: the user name.
    ///   - password: the password.
    ///   - tls: TLS settings, or `nil` for plain TCP.
    public init(
        host: String = "127.0.0.1", port: Int? = nil, virtualHost: String = "/", username: String = "guest",
        password: String = "guest", tls: TLS? = nil
    ) {
        self.host = host
        self.port = port ?? (tls == nil ? 5672 : 5671)
        self.virtualHost = virtualHost
        self.username = username
        self.password = password
        self.tls = tls
        self.heartbeat = .seconds(30)
        self.connectTimeout = .seconds(10)
        self.rpcTimeout = .seconds(30)
        self.frameMax = 131_072
        self.connectionName = nil
        self.reconnect = Reconnect()
    }

    /// A one-line name for logs and errors: the URL with `***` where the password is
    /// (`amqp://guest:***@127.0.0.1:5672/%2F`).
    ///
    /// The URL is built from the fields with the password left out by position; nothing is searched for the
    /// password's text, so a password equal to the user name or to a word of the host shows nothing of itself.
    public var redactedURL: String {
        ServiceURL(
            scheme: tls == nil ? "amqp" : "amqps", user: username, password: password, host: host, port: port,
            path: virtualHost
        ).redacted()
    }
}

extension AMQPConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The URL without the password.
    public var description: String { redactedURL }

    /// The URL without the password.
    public var debugDescription: String { "AMQPConfiguration(\(redactedURL))" }

    /// Every field, with the password replaced by `***`, so that `dump` does not print it.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "port": port, "virtualHost": virtualHost, "username": username, "password": "***",
                "tls": tls as Any, "heartbeat": heartbeat, "connectTimeout": connectTimeout,
                "rpcTimeout": rpcTimeout, "frameMax": frameMax, "connectionName": connectionName as Any,
                "reconnect": reconnect,
            ],
            displayStyle: .struct
        )
    }
}
