import Foundation
import Synchronization

/// Sends commands with `reply_to` and `correlation_id` and matches the replies.
///
/// Replies come to a queue of this process's own, `<prefix>.reply.<uuid>` (exclusive, auto-delete, declared again
/// after a reconnect), rather than to RabbitMQ's direct reply-to (`amq.rabbitmq.reply-to`): direct reply-to needs
/// the request published on the very channel that consumes the replies in no-ack mode, while this connection
/// publishes on one channel (in confirm mode) and consumes on others.
final class RPCClient: Sendable {
    let replyQueue: String
    private let messaging: BatchMessaging
    private let consumer: AMQPConsumer
    private let pending = Mutex<[String: CheckedContinuation<Reply, any Error>]>([:])

    private init(replyQueue: String, messaging: BatchMessaging, consumer: AMQPConsumer) {
        self.replyQueue = replyQueue
        self.messaging = messaging
        self.consumer = consumer
    }

    static func start(messaging: BatchMessaging) async throws -> RPCClient {
        let queue = "\(messaging.topology.prefix).reply.\(UUID().uuidString.lowercased())"
        try await messaging.connection.declare([.queue(queue, durable: false, exclusive: true, autoDelete: true)])
        let consumer = try await messaging.connection.consume(queue: queue, prefetch: 256, exclusive: true)
        let client = RPCClient(replyQueue: queue, messaging: messaging, consumer: consumer)
        Task { [weak client] in
            // Ends when the connection closes (the consumer's sequence finishes).
            for try await delivery in consumer {
                try? delivery.ack()
                guard let client else { return }
                client.received(delivery)
            }
        }
        return client
    }

    private func received(_ delivery: AMQPDelivery) {
        guard let id = delivery.properties.correlationID,
            let waiter = pending.withLock({ $0.removeValue(forKey: id) })
        else {
            messaging.logger.debug("ignoring a reply nobody waits for")
            return
        }
        waiter.resume(with: Result { try Reply(decoding: delivery.body, limits: messaging.limits) })
    }

    private func fail(_ id: String, _ error: any Error) {
        pending.withLock { $0.removeValue(forKey: id) }?.resume(throwing: error)
    }

    func call(_ command: Command, timeout: Duration) async throws -> Reply {
        let id = UUID().uuidString.lowercased()
        let timeoutError = AMQPError(.timeout, "no reply to the \(command.action.rawValue) command within \(timeout)")
        // Set before the timer fails the call: a timer that fires before the call is registered (a timeout of
        // zero) finds nothing to fail, and the registration then sees the flag and fails it itself.
        let expired = Atomic(false)
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            expired.store(true, ordering: .sequentiallyConsistent)
            self?.fail(id, timeoutError)
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            pending.withLock { $0[id] = continuation }
            if expired.load(ordering: .sequentiallyConsistent) {
                fail(id, timeoutError)
                return
            }
            Task {
                do {
                    try await messaging.send(command, correlationID: id, replyTo: replyQueue)
                } catch {
                    fail(id, error)
                }
            }
        }
    }
}
