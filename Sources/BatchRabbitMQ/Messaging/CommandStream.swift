/// A command taken from the queue, with the delivery to settle once the command is accepted (a start is acked once
/// its execution is committed, so a worker that dies before that leaves the command to another).
public struct IncomingCommand: Sendable {
    /// The decoded command.
    public let command: Command
    /// The delivery it came in: ack it, or dead-letter it with ``BatchMessaging/deadLetter(_:reason:)`` (unknown
    /// job, parameters the job refuses).
    public let delivery: AMQPDelivery
}

/// The commands of a queue, decoded. A delivery that is not a valid command never comes out: it is dead-lettered
/// with the decoding error as its reason, answered with `{"ok": false, "error": ...}` if it asked for a reply, and
/// logged.
public struct CommandStream: AsyncSequence, Sendable {
    /// A decoded command.
    public typealias Element = IncomingCommand

    /// The consumer underneath, to pause, resume or cancel.
    public let consumer: AMQPConsumer
    let messaging: BatchMessaging

    /// Iterates the commands.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var deliveries: AMQPConsumer.AsyncIterator
        let messaging: BatchMessaging

        /// The next valid command, or `nil` when the consumer ended.
        public mutating func next() async throws -> IncomingCommand? {
            while let delivery = try await deliveries.next() {
                do {
                    return IncomingCommand(
                        command: try Command(
                            decoding: delivery.body, headers: delivery.properties.headers, limits: messaging.limits),
                        delivery: delivery)
                } catch let error as AMQPError {
                    messaging.logger.warning(
                        "dead-lettering an invalid command",
                        metadata: ["amqp.queue": "\(delivery.queue)", "error": "\(error.message)"])
                    try? await messaging.reply(.refused(error.message), to: delivery)
                    try await messaging.deadLetter(delivery, reason: error.message)
                }
            }
            return nil
        }
    }

    /// Returns an iterator over the commands.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(deliveries: consumer.makeAsyncIterator(), messaging: messaging)
    }
}
