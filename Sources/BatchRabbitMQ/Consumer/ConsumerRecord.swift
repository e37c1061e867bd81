/// What the I/O thread knows of one consumer: its channel, its state, and where its deliveries go.
///
/// A value kept in the ``ChannelTable``; the `buffer` is the one part shared with the consumer's readers.
struct ConsumerRecord {
    let channel: UInt16
    let queue: String
    let tag: String
    let prefetch: UInt16
    let exclusive: Bool
    let buffer: DeliveryBuffer
    /// The largest body handed to the consumer; a larger delivery is rejected (not requeued) before it is copied.
    var maxBodySize: Int?

    /// Paused by the application: no basic.consume until resumed.
    var paused = false
    /// Cancelled by the application: never consumes again; the channel stays open so held deliveries can be acked.
    var cancelled = false
    /// The channel is open (with its prefetch set).
    var channelOpen = false
    /// basic.consume is in force on the channel.
    var consuming = false
    /// The channel's incarnation; see ``ChannelTable/channelOpened(_:)``.
    var epoch: UInt64 = 0
    /// When to try to consume again after the broker cancelled the consumer or closed the channel.
    var retryAt: ContinuousClock.Instant?
    /// How many retries have been scheduled since the consumer last started.
    var retryAttempt = 0
    /// Redeclare the topology before the next attempt (the queue may have been deleted).
    var needsRedeclare = false

    /// Whether basic.consume is due: the channel is open, and the consumer is neither paused, cancelled nor consuming.
    var wantsConsume: Bool { !paused && !cancelled && !consuming }
}
