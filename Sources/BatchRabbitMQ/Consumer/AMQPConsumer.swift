/// A consumer of one queue: an `AsyncSequence` of deliveries, each to be acked, nacked or rejected.
///
/// The broker sends at most ``prefetch`` unacked deliveries ahead. ``pause()`` cancels the consumer at the broker
/// and requeues whatever arrived but was not yet taken from the sequence, so that a worker that is full holds nothing
/// it cannot run; ``resume()`` consumes again. The sequence ends (returns `nil`) after ``cancel()``, ``close()`` or
/// when the connection closes. Across a reconnect, or when the broker cancels the consumer (its queue was deleted),
/// it consumes again by itself.
///
/// The consumer keeps its connection open while it exists.
public final class AMQPConsumer: AsyncSequence, Sendable {
    /// A delivery.
    public typealias Element = AMQPDelivery

    /// The connection the consumer belongs to.
    public let connection: AMQPConnection
    /// The queue consumed.
    public let queue: String
    /// The consumer tag.
    public let tag: String
    /// The most unacked deliveries the broker sends ahead.
    public let prefetch: UInt16
    let channel: UInt16
    let buffer: DeliveryBuffer

    init(
        connection: AMQPConnection, channel: UInt16, queue: String, tag: String, prefetch: UInt16,
        buffer: DeliveryBuffer
    ) {
        self.connection = connection
        self.channel = channel
        self.queue = queue
        self.tag = tag
        self.prefetch = prefetch
        self.buffer = buffer
    }

    /// Iterates the deliveries.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: DeliveryBuffer

        /// The next delivery, or `nil` once the consumer was cancelled or the connection closed.
        ///
        /// - Throws: `CancellationError` when the task is cancelled while waiting.
        public mutating func next() async throws -> AMQPDelivery? {
            try await buffer.next()
        }
    }

    /// Returns an iterator over the deliveries. Several iterators share one stream; each delivery goes to one.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(buffer: buffer)
    }

    /// Stops receiving: cancels the consumer at the broker and requeues the deliveries not yet taken from the
    /// sequence. Deliveries already taken stay the application's to settle.
    ///
    /// - Throws: ``AMQPError`` if the broker refused the cancel.
    public func pause() async throws {
        let channel = channel
        try await connection.inbox.perform(requiresConnection: false) { loop in try loop.pause(channel: channel) }
    }

    /// Receives again after ``pause()``.
    ///
    /// - Throws: ``AMQPError`` if the broker refused the consume (the consumer then keeps trying).
    public func resume() async throws {
        let channel = channel
        try await connection.inbox.perform(requiresConnection: false) { loop in try loop.resume(channel: channel) }
    }

    /// Stops receiving for good and ends the sequence; deliveries not yet taken are requeued. Deliveries already
    /// taken can still be settled.
    public func cancel() async throws {
        let channel = channel
        try await connection.inbox.perform(requiresConnection: false) { loop in try loop.cancel(channel: channel) }
    }

    /// Cancels and closes the consumer's channel: the broker requeues every delivery not yet acked (they come back
    /// with ``AMQPDelivery/isRedelivered`` set).
    public func close() async throws {
        let channel = channel
        try await connection.inbox.perform(requiresConnection: false) { loop in try loop.close(channel: channel) }
    }
}
