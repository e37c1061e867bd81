import Foundation
import Logging

/// A connection to RabbitMQ: publishes with confirms, consumes with manual acks, declares topology, and re-establishes
/// itself when the broker goes away.
///
/// One `amqp_connection_state_t` and one dedicated I/O thread (not Swift's cooperative pool) stand behind it; every
/// method here only queues work for that thread and awaits the answer, so it may be called from any task.
///
/// ```swift
/// let connection = try await AMQPConnection.connect(configuration: .fromEnvironment(), logger: logger)
/// try await connection.declare(BatchTopology().declarations)
/// try await connection.publish(AMQPMessage(text: "{}"), exchange: "", routingKey: "batch.commands")
/// for try await delivery in try await connection.consume(queue: "batch.commands", prefetch: 4) {
///     ...
///     try delivery.ack()
/// }
/// ```
///
/// When the connection breaks, it reconnects with exponential backoff and jitter, declares again what was declared
/// with `redeclareOnReconnect`, restarts its consumers and sends again the messages the broker had not confirmed
/// (so delivery is at least once). Operations issued meanwhile wait for the new connection.
public final class AMQPConnection: Sendable {
    let inbox: LoopInbox

    /// The configuration, for display (its description hides the password).
    public var configuration: AMQPConfiguration { inbox.configuration }

    private init(inbox: LoopInbox) {
        self.inbox = inbox
    }

    /// Closes the connection when the last reference goes (consumers hold one).
    deinit {
        inbox.enqueue(.close(nil))
    }

    /// Connects, logs in and starts the connection's I/O thread.
    ///
    /// - Parameters:
    ///   - configuration: where and how to connect.
    ///   - logger: where the connection logs (connects, losses, reconnects at info or warning; details at debug).
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/connectionFailed`` or
    ///   ``AMQPError/Code/authenticationFailed`` when the first connection fails (no retry is made then).
    public static func connect(configuration: AMQPConfiguration, logger: Logger) async throws -> AMQPConnection {
        AMQPConnection(inbox: try await ConnectionLoop.start(configuration: configuration, logger: logger))
    }

    /// Closes the connection: consumers' sequences end, unconfirmed publishes fail with ``AMQPError/Code/closed``,
    /// unacked deliveries go back to their queues. Calling it twice is harmless.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !inbox.enqueue(.close(continuation)) { continuation.resume() }
        }
    }

    // MARK: - Publishing

    /// Publishes a message and returns once the broker has confirmed it (publisher confirms).
    ///
    /// - Parameters:
    ///   - message: the body and properties (persistent by default).
    ///   - exchange: the exchange; `""` is the default exchange, which routes to the queue named by `routingKey`.
    ///   - routingKey: the routing key.
    ///   - mandatory: whether a message no queue takes is an error (``AMQPError/Code/publishReturned``) instead of
    ///     being dropped.
    /// - Throws: ``AMQPError``: ``AMQPError/Code/publishNacked``, ``AMQPError/Code/publishReturned``,
    ///   ``AMQPError/Code/notFound`` (no such exchange), ``AMQPError/Code/closed``.
    public func publish(
        _ message: AMQPMessage, exchange: String, routingKey: String, mandatory: Bool = false
    ) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let pending = PendingPublish(
                exchange: exchange, routingKey: routingKey, mandatory: mandatory, message: message,
                continuation: continuation)
            if !inbox.enqueue(.publish(pending)) {
                pending.fail(AMQPError(.closed, "the connection is closed"))
            }
        }
    }

    // MARK: - Consuming

    /// Starts consuming a queue with manual acknowledgements.
    ///
    /// - Parameters:
    ///   - queue: the queue.
    ///   - prefetch: how many unacked deliveries the broker may send ahead (basic.qos); 0 is unlimited.
    ///   - exclusive: whether no other consumer may consume the queue meanwhile.
    ///   - maxBodySize: the largest body handed to the consumer, if any limit: a larger delivery is rejected without
    ///     requeue (the queue's dead-letter exchange takes it, if it has one) before it is copied or buffered.
    /// - Returns: the consumer, an `AsyncSequence` of deliveries.
    /// - Throws: ``AMQPError``, for example ``AMQPError/Code/notFound`` when the queue does not exist.
    public func consume(
        queue: String, prefetch: UInt16 = 1, exclusive: Bool = false, maxBodySize: Int? = nil
    ) async throws -> AMQPConsumer {
        try AMQPShortString.check(queue, "queue name")
        let buffer = DeliveryBuffer()
        let tag = "swift-batch-\(UUID().uuidString.lowercased())"
        let channel = try await inbox.perform { loop in
            try loop.addConsumer(
                queue: queue, tag: tag, prefetch: prefetch, exclusive: exclusive, buffer: buffer,
                maxBodySize: maxBodySize)
        }
        return AMQPConsumer(
            connection: self, channel: channel, queue: queue, tag: tag, prefetch: prefetch, buffer: buffer)
    }

    // MARK: - Topology

    /// Declares exchanges, queues and bindings, in order. Idempotent.
    ///
    /// - Parameters:
    ///   - declarations: what to declare.
    ///   - redeclareOnReconnect: whether to declare them again after every reconnect (needed for exclusive and
    ///     auto-delete queues, which die with the connection). Default `true`.
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/preconditionFailed`` when an entity exists with other
    ///   settings, saying which one.
    public func declare(_ declarations: [AMQPDeclaration], redeclareOnReconnect: Bool = true) async throws {
        for declaration in declarations { try AMQPShortString.check(declaration) }
        try await inbox.perform { loop in
            for declaration in declarations { try loop.declare(declaration) }
            if redeclareOnReconnect { loop.reconnection.remember(declarations) }
        }
    }

    /// The number of messages ready in a queue (not counting deliveries awaiting an ack) and its consumer count.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/notFound`` when the queue does not exist.
    public func queueStatus(_ queue: String) async throws -> (messages: Int, consumers: Int) {
        try AMQPShortString.check(queue, "queue name")
        return try await inbox.perform { loop in try loop.queueStatus(queue) }
    }

    /// Deletes a queue and what it holds. Deleting a queue that does not exist is not an error.
    public func deleteQueue(_ queue: String) async throws {
        try AMQPShortString.check(queue, "queue name")
        try await inbox.perform { loop in
            loop.reconnection.forget(queue: queue)
            try loop.delete(queue: queue, exchange: nil)
        }
    }

    /// Deletes an exchange. Deleting an exchange that does not exist is not an error.
    public func deleteExchange(_ exchange: String) async throws {
        try AMQPShortString.check(exchange, "exchange name")
        try await inbox.perform { loop in
            loop.reconnection.forget(exchange: exchange)
            try loop.delete(queue: nil, exchange: exchange)
        }
    }

    /// Removes every ready message from a queue.
    ///
    /// - Returns: how many messages were removed.
    @discardableResult
    public func purgeQueue(_ queue: String) async throws -> Int {
        try AMQPShortString.check(queue, "queue name")
        return try await inbox.perform { loop in try loop.purge(queue: queue) }
    }
}
