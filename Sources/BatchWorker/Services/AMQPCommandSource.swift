import Batch
import BatchRabbitMQ
import Tracing

/// A ``CommandSource`` over a RabbitMQ consumer: the commands queue, or a worker's control queue.
public final class AMQPCommandSource: CommandSource {
    /// The consumer underneath.
    public let consumer: AMQPConsumer
    private let messaging: BatchMessaging

    /// Wraps a consumer of `messaging`'s connection.
    public init(consumer: AMQPConsumer, messaging: BatchMessaging) {
        self.consumer = consumer
        self.messaging = messaging
    }

    /// Consumes the commands queue with `prefetch` deliveries sent ahead (the worker's capacity).
    public static func commands(_ messaging: BatchMessaging, prefetch: Int) async throws -> AMQPCommandSource {
        AMQPCommandSource(
            consumer: try await messaging.commands(prefetch: UInt16(clamping: prefetch)).consumer,
            messaging: messaging)
    }

    /// Consumes the partitions queue with `prefetch` deliveries sent ahead (the worker's capacity, shared with commands).
    public static func partitions(_ messaging: BatchMessaging, prefetch: Int) async throws -> AMQPCommandSource {
        AMQPCommandSource(
            consumer: try await messaging.partitions(prefetch: UInt16(clamping: prefetch)).consumer,
            messaging: messaging)
    }

    /// Declares and consumes `workerId`'s control queue (stops broadcast to every worker).
    public static func control(_ messaging: BatchMessaging, workerId: String) async throws -> AMQPCommandSource {
        AMQPCommandSource(
            consumer: try await messaging.controlCommands(workerID: workerId).consumer, messaging: messaging)
    }

    /// The next delivery of the consumer; `nil` once it is cancelled.
    public func next() async throws -> (any CommandDelivery)? {
        // The consumer's iterator holds no position of its own (its buffer is the consumer's).
        var deliveries = consumer.makeAsyncIterator()
        guard let delivery = try await deliveries.next() else { return nil }
        return Delivery(delivery: delivery, messaging: messaging)
    }

    /// Pauses the consumer (the broker takes back what it sent ahead).
    public func pause() async throws { try await consumer.pause() }
    /// Resumes the consumer.
    public func resume() async throws { try await consumer.resume() }
    /// Cancels the consumer.
    public func cancel() async throws { try await consumer.cancel() }
    /// Closes the consumer's channel: the broker requeues every delivery not acked.
    public func close() async throws { try await consumer.close() }

    /// One RabbitMQ delivery.
    struct Delivery: CommandDelivery {
        let delivery: AMQPDelivery
        let messaging: BatchMessaging

        func command() throws -> Command {
            try Command.decodingDelivery(delivery.body, headers: delivery.properties.headers, limits: messaging.limits)
        }

        var attempts: CommandAttempts { CommandAttempts(delivery) }
        func ack() async throws { try delivery.ack() }
        func deadLetter(reason: String) async throws { try await messaging.deadLetter(delivery, reason: reason) }
        func retry(attempts: CommandAttempts, after delay: Duration) async throws {
            try await messaging.retry(delivery, attempts: attempts, after: delay)
        }
        func requeue() async throws { try delivery.nack(requeue: true) }
        func reply(_ reply: Reply) async throws { try await messaging.reply(reply, to: delivery) }
        func traceContext(using instrument: any Instrument) -> ServiceContext? {
            MessageTraceContext.extract(from: delivery.properties.headers, using: instrument)
        }
    }
}

/// RabbitMQ carries the worker's events (`batch.events`) and its stop broadcasts (`batch.control`).
extension BatchMessaging: EventSink {}
