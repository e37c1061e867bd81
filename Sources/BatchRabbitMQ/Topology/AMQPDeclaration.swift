/// One piece of broker topology: an exchange, a queue or a binding. Declaring is idempotent; a declaration that
/// differs from an existing entity of the same name fails with ``AMQPError/Code/preconditionFailed``.
public enum AMQPDeclaration: Sendable, Hashable {
    /// The kind of an exchange.
    public enum ExchangeType: String, Sendable, Hashable {
        /// Routes by exact routing key.
        case direct
        /// Routes to every bound queue.
        case fanout
        /// Routes by routing-key pattern (`job.*.FAILED`, `job.#`).
        case topic
        /// Routes by header values.
        case headers
    }

    /// An exchange.
    case exchange(
        name: String, type: ExchangeType, durable: Bool, autoDelete: Bool, arguments: [String: AMQPFieldValue])
    /// A queue; an empty name is not allowed (this module names every queue it declares).
    case queue(name: String, durable: Bool, exclusive: Bool, autoDelete: Bool, arguments: [String: AMQPFieldValue])
    /// A binding of a queue to an exchange.
    case binding(queue: String, exchange: String, routingKey: String, arguments: [String: AMQPFieldValue])

    /// A durable exchange (by default) of the given type.
    public static func exchange(
        _ name: String, type: ExchangeType, durable: Bool = true, autoDelete: Bool = false,
        arguments: [String: AMQPFieldValue] = [:]
    ) -> AMQPDeclaration {
        .exchange(name: name, type: type, durable: durable, autoDelete: autoDelete, arguments: arguments)
    }

    /// A durable queue (by default).
    public static func queue(
        _ name: String, durable: Bool = true, exclusive: Bool = false, autoDelete: Bool = false,
        arguments: [String: AMQPFieldValue] = [:]
    ) -> AMQPDeclaration {
        .queue(name: name, durable: durable, exclusive: exclusive, autoDelete: autoDelete, arguments: arguments)
    }

    /// A binding of `queue` to `exchange` with `routingKey`.
    public static func bind(
        _ queue: String, to exchange: String, routingKey: String = "", arguments: [String: AMQPFieldValue] = [:]
    ) -> AMQPDeclaration {
        .binding(queue: queue, exchange: exchange, routingKey: routingKey, arguments: arguments)
    }

    /// What the declaration is, for errors: `queue 'batch.commands'`.
    var subject: String {
        switch self {
        case .exchange(let name, let type, _, _, _): "\(type.rawValue) exchange '\(name)'"
        case .queue(let name, _, _, _, _): "queue '\(name)'"
        case .binding(let queue, let exchange, let key, _): "binding of queue '\(queue)' to '\(exchange)' ('\(key)')"
        }
    }
}
