import Batch
import Foundation

extension BatchMessaging {
    /// Publishes a running step's progress to the events exchange with routing key `progress.<job>`, not
    /// persistent (a progress report is stale a second later); returns once confirmed.
    public func publish(_ progress: StepProgress) async throws {
        try await connection.publish(
            AMQPMessage(
                body: Array(progress.json.canonicalJSON.utf8), properties: Self.jsonProperties(persistent: false)),
            exchange: topology.eventsExchange, routingKey: progress.routingKey)
    }

    /// Subscribes to progress reports through a queue of this process's own (exclusive, auto-delete) bound with
    /// `bindingKey`.
    ///
    /// - Parameter bindingKey: a topic pattern: `progress.#` for every job, `progress.daily-accounting`.
    public func progress(matching bindingKey: String = "progress.#") async throws -> ProgressStream {
        let queue = "\(topology.prefix).progress.\(UUID().uuidString.lowercased())"
        try await connection.declare([
            .queue(queue, durable: false, exclusive: true, autoDelete: true),
            .bind(queue, to: topology.eventsExchange, routingKey: bindingKey),
        ])
        return ProgressStream(consumer: try await connection.consume(queue: queue, prefetch: 64), messaging: self)
    }
}

/// Progress reports from a subscription; each is acked as it is read. An undecodable body is logged and dropped.
public struct ProgressStream: AsyncSequence, Sendable {
    /// A progress report.
    public typealias Element = StepProgress

    /// The consumer underneath; cancel it to end the subscription.
    public let consumer: AMQPConsumer
    let messaging: BatchMessaging

    /// Iterates the reports.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var deliveries: AMQPConsumer.AsyncIterator
        let messaging: BatchMessaging

        /// The next report, or `nil` when the subscription ended.
        public mutating func next() async throws -> StepProgress? {
            while let delivery = try await deliveries.next() {
                try? delivery.ack()
                do {
                    guard delivery.body.count <= messaging.limits.maximumBodySize else {
                        throw BatchError(.invalidJSON, "a progress event over the size limit")
                    }
                    return try StepProgress(json: JSONValue(parsing: delivery.body))
                } catch {
                    messaging.logger.warning("dropping an invalid progress event", metadata: ["error": "\(error)"])
                }
            }
            return nil
        }
    }

    /// Returns an iterator over the reports.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(deliveries: consumer.makeAsyncIterator(), messaging: messaging)
    }
}
