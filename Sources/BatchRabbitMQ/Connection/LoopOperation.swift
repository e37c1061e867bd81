import CRabbitMQ

/// Work another thread hands to a connection's I/O thread.
enum LoopOperation: Sendable {
    /// Publish a message and resume its continuation once the broker confirms it.
    case publish(PendingPublish)
    /// Acknowledge, requeue or reject a delivery received on `channel` while it had `epoch`.
    case settle(channel: UInt16, epoch: UInt64, deliveryTag: UInt64, settlement: Settlement)
    /// Run a closure on the I/O thread.
    case task(LoopTask)
    /// Close the connection, then resume the continuation, if any.
    case close(CheckedContinuation<Void, Never>?)
}

/// How a delivery is settled.
enum Settlement: Sendable {
    case ack
    case nack(requeue: Bool)
    case reject(requeue: Bool)
}

/// A closure for the I/O thread, with what to do if it can never run.
struct LoopTask: Sendable {
    /// Whether the task waits for a live connection (it is held while the connection is being re-established).
    var requiresConnection: Bool
    /// The work; it runs on the I/O thread and must resume whatever continuation it carries.
    var run: @Sendable (ConnectionLoop) -> Void
    /// Called instead of `run` when the connection closes first.
    var fail: @Sendable (any Error) -> Void
}

/// A message waiting for the broker's confirm. Its completion is called exactly once, by the I/O thread (or by the
/// publishing task when the inbox refuses it); whether the broker returned it is the ``ConfirmTracker``'s to know.
final class PendingPublish: Sendable, ConfirmablePublish {
    let exchange: String
    let routingKey: String
    let mandatory: Bool
    let message: AMQPMessage
    /// Called with `nil` once confirmed, or with why not.
    private let completion: @Sendable ((any Error)?) -> Void

    init(
        exchange: String, routingKey: String, mandatory: Bool, message: AMQPMessage,
        completion: @escaping @Sendable ((any Error)?) -> Void
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.mandatory = mandatory
        self.message = message
        self.completion = completion
    }

    convenience init(
        exchange: String, routingKey: String, mandatory: Bool, message: AMQPMessage,
        continuation: CheckedContinuation<Void, any Error>
    ) {
        self.init(exchange: exchange, routingKey: routingKey, mandatory: mandatory, message: message) { error in
            if let error { continuation.resume(throwing: error) } else { continuation.resume() }
        }
    }

    func succeed() { completion(nil) }
    func fail(_ error: any Error) { completion(error) }
}
