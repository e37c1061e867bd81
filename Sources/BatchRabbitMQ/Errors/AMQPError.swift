/// The error type of BatchRabbitMQ: a code to match on, a message that says what happened and what to do, the
/// broker's reply code when the broker refused something, the error underneath (if any) and where it was thrown.
///
/// Messages never contain the password of the connection.
///
/// ```swift
/// do { try await connection.declare(topology.declarations()) }
/// catch let error as AMQPError where error.code == .preconditionFailed { ... }
/// ```
public struct AMQPError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration, connectionFailed, authenticationFailed, connectionLost, closed
            case channelClosed, preconditionFailed, notFound, accessRefused, resourceLocked
            case publishNacked, publishReturned, alreadySettled, timeout, invalidMessage, protocolError
            case invalidArgument
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A URL or setting is malformed; the message names it.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The TCP or TLS connection, or the AMQP handshake, failed.
        public static let connectionFailed = Code(.connectionFailed)
        /// The broker refused the user name or password (or the virtual host).
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The connection broke while the operation was under way; it is being re-established.
        public static let connectionLost = Code(.connectionLost)
        /// The connection or consumer was closed by this process.
        public static let closed = Code(.closed)
        /// The broker closed the channel (reply code in ``AMQPError/replyCode``).
        public static let channelClosed = Code(.channelClosed)
        /// A declaration differs from the existing entity of that name (AMQP 406 PRECONDITION_FAILED).
        public static let preconditionFailed = Code(.preconditionFailed)
        /// A queue or exchange does not exist (AMQP 404 NOT_FOUND).
        public static let notFound = Code(.notFound)
        /// The user may not do this (AMQP 403 ACCESS_REFUSED).
        public static let accessRefused = Code(.accessRefused)
        /// An exclusive queue belongs to another connection (AMQP 405 RESOURCE_LOCKED).
        public static let resourceLocked = Code(.resourceLocked)
        /// The broker refused a published message (basic.nack).
        public static let publishNacked = Code(.publishNacked)
        /// A mandatory message could not be routed to any queue (basic.return).
        public static let publishReturned = Code(.publishReturned)
        /// The delivery was already acknowledged, rejected or requeued.
        public static let alreadySettled = Code(.alreadySettled)
        /// No answer came in time.
        public static let timeout = Code(.timeout)
        /// A message body is not a valid command, reply or event; the message says exactly why.
        public static let invalidMessage = Code(.invalidMessage)
        /// The library or the broker did something this client does not expect.
        public static let protocolError = Code(.protocolError)
        /// A name, routing key or property cannot be sent: AMQP short strings hold at most 255 bytes. Nothing was
        /// sent, and the connection is unaffected.
        public static let invalidArgument = Code(.invalidArgument)

        /// The code's name, for logs.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened and what to do, for people. Never contains a password.
    public var message: String
    /// The AMQP reply code when the broker closed a channel or connection (for example 406), else `nil`.
    public var replyCode: Int?
    /// The error that caused this one, if any.
    public var underlying: (any Error)?
    /// Where the error was thrown.
    public var location: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: what kind of failure.
    ///   - message: what happened and what to do; must not contain secrets.
    ///   - replyCode: the broker's reply code, if the broker refused something.
    ///   - underlying: the cause, if any.
    public init(
        _ code: Code, _ message: String, replyCode: Int? = nil, underlying: (any Error)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.replyCode = replyCode
        self.underlying = underlying
        self.location = "\(file):\(line)"
    }

    /// The message, with the code.
    public var description: String { "\(message) [\(code)]" }
}

extension AMQPError {
    /// Whether the way to the broker failed (the connection lost, refused or closed, no answer in time) rather than
    /// the broker refusing what was sent.
    public var isConnectionFailure: Bool {
        [.connectionLost, .connectionFailed, .closed, .timeout].contains(code)
    }

    /// The error for a channel or connection the broker closed with `replyCode` and `replyText` while doing `context`.
    static func brokerRefused(_ context: String, replyCode: Int, replyText: String) -> AMQPError {
        let code: Code
        let advice: String
        switch replyCode {
        case 406:
            code = .preconditionFailed
            advice =
                " An entity of that name already exists with other settings: delete it, or declare it with the same"
                + " settings (durability, type, arguments)."
        case 404: code = .notFound; advice = " Declare it first (or check the prefix)."
        case 403: code = .accessRefused; advice = " Grant the user permissions on this virtual host."
        case 405: code = .resourceLocked; advice = " Another connection holds it exclusively."
        default: code = .channelClosed; advice = ""
        }
        return AMQPError(
            code, "\(context): the broker refused with \(replyCode) \(replyText).\(advice)", replyCode: replyCode)
    }
}
