/// Events from a subscription; each is acked as it is read. An undecodable body is logged and dropped.
public struct EventStream: AsyncSequence, Sendable {
    /// An event.
    public typealias Element = Event

    /// The consumer underneath; cancel it to end the subscription.
    public let consumer: AMQPConsumer
    let messaging: BatchMessaging

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var deliveries: AMQPConsumer.AsyncIterator
        let messaging: BatchMessaging

        /// The next event, or `nil` when the subscription ended.
        public mutating func next() async throws -> Event? {
            while let delivery = try await deliveries.next() {
                try? delivery.ack()
                do {
                    return try Event(decoding: delivery.body, limits: messaging.limits)
                } catch {
                    messaging.logger.warning("dropping an invalid event", metadata: ["error": "\(error)"])
                }
            }
            return nil
        }
    }

    /// Returns an iterator over the events.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(deliveries: consumer.makeAsyncIterator(), messaging: messaging)
    }
}
