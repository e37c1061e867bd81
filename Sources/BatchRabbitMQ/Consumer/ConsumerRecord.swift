/// What the I/O thread knows of one consumer: its channel, its state, and where its deliveries go.
///
/// Used on the I/O thread only; the `buffer` is the one part shared with the consumer's readers.
final class ConsumerRecord {
    let channel: UInt16
    let queue: String
    let tag: String
    let prefetch: UInt16
    let exclusive: Bool
    let buffer: DeliveryBuffer

    /// Paused by the application: no basic.consume until resumed.
    var paused = false
    /// Cancelled by the application: never consumes again; the channel stays open so held deliveries can be acked.
    var cancelled = false
    /// The channel is open (with its prefetch set).
    var channelOpen = false
    /// basic.consume is in force on the channel.
    var consuming = false
    /// The channel's incarnation; see ``ConnectionLoop/newEpoch()``.
    var epoch: UInt64 = 0
    /// When to try to consume again after the broker cancelled the consumer or closed the channel.
    var retryAt: ContinuousClock.Instant?
    var retryAttempt = 0
    /// Redeclare the topology before the next attempt (the queue may have been deleted).
    var needsRedeclare = false

    init(channel: UInt16, queue: String, tag: String, prefetch: UInt16, exclusive: Bool, buffer: DeliveryBuffer) {
        self.channel = channel
        self.queue = queue
        self.tag = tag
        self.prefetch = prefetch
        self.exclusive = exclusive
        self.buffer = buffer
    }
}
