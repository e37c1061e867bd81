import Synchronization

/// A message delivered to a consumer, to be settled exactly once: ``ack()``, ``nack(requeue:)`` or
/// ``reject(requeue:)``.
///
/// Settling only queues the frame for the connection's I/O thread and returns at once. If the connection (or the
/// channel) was lost since the delivery arrived, the settlement is dropped: the broker has already put the message
/// back in its queue and delivers it again with ``isRedelivered`` set.
public struct AMQPDelivery: Sendable {
    /// The body and properties.
    public let message: AMQPMessage
    /// The exchange the message was published to (empty for the default exchange).
    public let exchange: String
    /// The routing key it was published with.
    public let routingKey: String
    /// The broker's number for this delivery on its channel.
    public let deliveryTag: UInt64
    /// Whether the broker delivered this message before (to this or another consumer) without an ack.
    public let isRedelivered: Bool
    /// The tag of the consumer that received it.
    public let consumerTag: String
    /// The queue it was consumed from.
    public let queue: String
    let settler: DeliverySettler

    /// The body bytes.
    public var body: [UInt8] { message.body }
    /// The message properties.
    public var properties: AMQPProperties { message.properties }

    /// Whether the delivery has been acked, nacked or rejected.
    public var isSettled: Bool { settler.isSettled }

    /// Acknowledges the delivery: the broker forgets the message.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/alreadySettled`` if it was settled before, or
    ///   ``AMQPError/Code/closed`` if the connection is closed (the broker then requeues the message).
    public func ack() throws {
        try settler.settle(deliveryTag: deliveryTag, .ack)
    }

    /// Negatively acknowledges the delivery: requeued (default) or dead-lettered.
    ///
    /// - Parameter requeue: `true` to put the message back in its queue, `false` to dead-letter (or drop) it.
    /// - Throws: as ``ack()``.
    public func nack(requeue: Bool = true) throws {
        try settler.settle(deliveryTag: deliveryTag, .nack(requeue: requeue))
    }

    /// Rejects the delivery: dead-lettered (default, if the queue has a dead-letter exchange) or requeued.
    ///
    /// - Parameter requeue: `true` to put the message back in its queue.
    /// - Throws: as ``ack()``.
    public func reject(requeue: Bool = false) throws {
        try settler.settle(deliveryTag: deliveryTag, .reject(requeue: requeue))
    }
}

/// Sends a delivery's one settlement to the channel it came from.
final class DeliverySettler: Sendable {
    let inbox: LoopInbox
    let channel: UInt16
    /// The incarnation of the channel the delivery arrived on (see ``ChannelTable/channelOpened(_:)``).
    let epoch: UInt64
    private let settled = Atomic<Bool>(false)

    init(inbox: LoopInbox, channel: UInt16, epoch: UInt64) {
        self.inbox = inbox
        self.channel = channel
        self.epoch = epoch
    }

    var isSettled: Bool { settled.load(ordering: .acquiring) }

    /// Marks the delivery settled; `false` if it already was.
    func claim() -> Bool {
        settled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    func settle(deliveryTag: UInt64, _ settlement: Settlement) throws {
        guard claim() else {
            throw AMQPError(.alreadySettled, "delivery \(deliveryTag) was already acknowledged, rejected or requeued")
        }
        let queued = inbox.enqueue(
            .settle(channel: channel, epoch: epoch, deliveryTag: deliveryTag, settlement: settlement))
        guard queued else {
            throw AMQPError(
                .closed, "the connection is closed; the broker puts delivery \(deliveryTag) back in its queue")
        }
    }
}
