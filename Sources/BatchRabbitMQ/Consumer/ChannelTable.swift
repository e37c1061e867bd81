/// The channels of one connection and the consumer on each, as a value: which channel a new consumer gets, what
/// state each consumer is in (paused, cancelled, consuming, waiting to retry), and what to do again after a reconnect
/// or a close. No I/O: ``ConnectionLoop`` sends the frames the transitions call for and reports back.
///
/// Channel 1 is the control channel, channel 2 publishes; consumers get channels 3 and up, one each, and a channel
/// freed by a closed consumer is given to the next new one.
struct ChannelTable {
    /// The next thing to do to get a consumer going.
    enum StartStep: Equatable {
        /// Open the channel and set its prefetch (basic.qos), then report ``ChannelTable/channelOpened(_:)``.
        case openChannel(prefetch: UInt16)
        /// Send basic.consume, then report ``ChannelTable/consumeStarted(_:)``.
        case consume(queue: String, tag: String, exclusive: Bool)
        /// Nothing more: report ``ChannelTable/started(_:)``.
        case done
    }

    /// What became of a consumer whose channel closed.
    enum ClosedConsumer {
        /// It was cancelled by the application and is gone: finish its buffer.
        case removed(ConsumerRecord)
        /// It consumes again after a delay: schedule the retry.
        case retry(ConsumerRecord)
    }

    /// The first channel a consumer gets.
    static let firstConsumerChannel: UInt16 = 3

    /// The highest channel number plus one that consumers may use.
    let channelLimit: UInt16
    /// Whether the control channel (1) is open.
    var controlChannelOpen = false
    private var records: [UInt16: ConsumerRecord] = [:]
    private var freeChannels: [UInt16] = []
    private var nextChannel = Self.firstConsumerChannel
    private var epochCounter: UInt64 = 0

    /// An empty table; consumers get channels below `channelLimit`.
    init(channelLimit: UInt16 = 2047) {
        self.channelLimit = channelLimit
    }

    /// The consumer on `channel`.
    subscript(channel: UInt16) -> ConsumerRecord? { records[channel] }

    /// The channels that have a consumer, in order.
    var channels: [UInt16] { records.keys.sorted() }

    // MARK: - Adding and removing

    /// Adds a consumer on a free channel (a freed one first) and returns the channel; `nil` when none is left.
    mutating func add(
        queue: String, tag: String, prefetch: UInt16, exclusive: Bool, buffer: DeliveryBuffer, maxBodySize: Int? = nil
    ) -> UInt16? {
        let channel: UInt16
        if let free = freeChannels.popLast() {
            channel = free
        } else if nextChannel < channelLimit {
            channel = nextChannel
            nextChannel += 1
        } else {
            return nil
        }
        records[channel] = ConsumerRecord(
            channel: channel, queue: queue, tag: tag, prefetch: prefetch, exclusive: exclusive, buffer: buffer,
            maxBodySize: maxBodySize)
        return channel
    }

    /// Removes the consumer on `channel` and frees the channel; returns it (to finish its buffer).
    @discardableResult
    mutating func remove(_ channel: UInt16) -> ConsumerRecord? {
        guard let record = records.removeValue(forKey: channel) else { return nil }
        freeChannels.append(channel)
        return record
    }

    /// Removes every consumer (the connection closes for good).
    mutating func removeAll() -> [ConsumerRecord] {
        let all = channels.compactMap { remove($0) }
        controlChannelOpen = false
        return all
    }

    // MARK: - Starting

    /// What to do next to get the consumer on `channel` going.
    func nextStartStep(_ channel: UInt16) -> StartStep {
        guard let record = records[channel] else { return .done }
        if !record.channelOpen { return .openChannel(prefetch: record.prefetch) }
        if record.wantsConsume { return .consume(queue: record.queue, tag: record.tag, exclusive: record.exclusive) }
        return .done
    }

    /// The channel is open with its prefetch: a new incarnation. Deliveries carry the returned epoch, so that an ack
    /// meant for an earlier incarnation (the broker has requeued that delivery already) is dropped instead of
    /// acking someone else's delivery.
    @discardableResult
    mutating func channelOpened(_ channel: UInt16) -> UInt64? {
        guard records[channel] != nil else { return nil }
        epochCounter += 1
        records[channel]?.channelOpen = true
        records[channel]?.epoch = epochCounter
        return epochCounter
    }

    /// basic.consume was accepted.
    mutating func consumeStarted(_ channel: UInt16) {
        records[channel]?.consuming = true
    }

    /// The consumer is going: no retry is pending any more.
    mutating func started(_ channel: UInt16) {
        records[channel]?.retryAt = nil
        records[channel]?.retryAttempt = 0
        records[channel]?.needsRedeclare = false
    }

    // MARK: - Deliveries

    /// Where a delivery goes.
    enum DeliveryRoute {
        /// To this consumer.
        case consumer(ConsumerRecord)
        /// Back to the queue: its consumer is paused or cancelled, its channel still open.
        case requeue
        /// Nowhere: it was sent before its channel closed, or to an earlier consumer of a channel number used again.
        /// The broker requeued it when that channel closed, and a reject on a closed channel would make the broker
        /// close the whole connection.
        case drop
    }

    /// Where a delivery on `channel` for the consumer whose tag `isTag` recognises goes.
    func route(deliveryOn channel: UInt16, isTag: (String) -> Bool) -> DeliveryRoute {
        guard let record = records[channel], record.channelOpen, isTag(record.tag) else { return .drop }
        return record.paused || record.cancelled ? .requeue : .consumer(record)
    }

    /// Whether a settlement of a delivery that arrived on `channel` in incarnation `epoch` may be sent.
    func acceptsSettlement(channel: UInt16, epoch: UInt64) -> Bool {
        guard let record = records[channel] else { return false }
        return record.channelOpen && record.epoch == epoch
    }

    // MARK: - The application's transitions

    /// Pauses the consumer; returns it, or `nil` when there is none or it was paused already. The caller cancels it
    /// at the broker (if ``ConsumerRecord/consuming``) and requeues its buffered deliveries.
    mutating func pause(_ channel: UInt16) -> ConsumerRecord? {
        guard let record = records[channel], !record.paused else { return nil }
        records[channel]?.paused = true
        records[channel]?.retryAt = nil
        return records[channel]
    }

    /// Resumes the consumer; returns whether it must be started (it was paused and is not cancelled).
    mutating func resume(_ channel: UInt16) -> Bool {
        guard let record = records[channel], record.paused, !record.cancelled else { return false }
        records[channel]?.paused = false
        return true
    }

    /// Cancels the consumer for good (its channel stays open for settlements); returns it, or `nil` when there is
    /// none or it was cancelled already. The caller cancels it at the broker, requeues and finishes its buffer.
    mutating func cancel(_ channel: UInt16) -> ConsumerRecord? {
        guard let record = records[channel], !record.cancelled else { return nil }
        records[channel]?.cancelled = true
        records[channel]?.retryAt = nil
        return records[channel]
    }

    /// The application closes the consumer's channel: it is removed and its channel freed. Returns it (the caller
    /// closes the channel if ``ConsumerRecord/channelOpen`` and finishes the buffer), `nil` when there is none.
    mutating func close(_ channel: UInt16) -> ConsumerRecord? {
        guard var record = remove(channel) else { return nil }
        record.cancelled = true
        record.retryAt = nil
        return record
    }

    /// basic.cancel was sent: the consumer no longer consumes.
    mutating func consumeCancelled(_ channel: UInt16) {
        records[channel]?.consuming = false
    }

    // MARK: - The broker's transitions

    /// The broker cancelled the consumer with `tag` (its queue was deleted, for example). Returns its channel when it
    /// is to consume again after redeclaring the topology (it is neither paused nor cancelled).
    mutating func serverCancelled(tag: String) -> UInt16? {
        guard let channel = records.first(where: { $0.value.tag == tag })?.key else { return nil }
        records[channel]?.consuming = false
        guard let record = records[channel], !record.cancelled, !record.paused else { return nil }
        records[channel]?.needsRedeclare = true
        return channel
    }

    /// The broker closed a consumer's channel: a cancelled consumer is removed, any other retries. `nil` when no
    /// consumer has that channel. Either way, its buffered deliveries are gone (the broker requeued them).
    mutating func channelClosed(_ channel: UInt16) -> ClosedConsumer? {
        guard var record = records[channel] else { return nil }
        record.channelOpen = false
        record.consuming = false
        records[channel] = record
        if record.cancelled {
            remove(channel)
            return .removed(record)
        }
        return .retry(record)
    }

    /// Schedules the next attempt to consume again; returns the delay, `nil` when there is no such consumer.
    mutating func scheduleRetry(
        _ channel: UInt16, now: ContinuousClock.Instant, backoff: Backoff,
        using random: inout some RandomNumberGenerator
    ) -> Duration? {
        guard let record = records[channel] else { return nil }
        let delay = backoff.delay(attempt: record.retryAttempt, using: &random)
        records[channel]?.retryAttempt += 1
        records[channel]?.retryAt = now + delay
        return delay
    }

    /// The consumers whose retry is due at `now`, in channel order.
    func dueRetries(at now: ContinuousClock.Instant) -> [UInt16] {
        // Asked on every turn of the loop: nothing is allocated when nothing is due.
        func isDue(_ record: ConsumerRecord) -> Bool { record.retryAt.map { $0 <= now } ?? false }
        guard records.values.contains(where: isDue) else { return [] }
        return channels.filter { records[$0].map(isDue) ?? false }
    }

    /// The earliest pending retry, if any.
    var earliestRetry: ContinuousClock.Instant? {
        var earliest: ContinuousClock.Instant?
        for record in records.values {
            if let retryAt = record.retryAt, earliest.map({ retryAt < $0 }) ?? true { earliest = retryAt }
        }
        return earliest
    }

    // MARK: - Connection loss and reconnect

    /// The connection broke: no channel is open, nothing is consumed; the consumers the application cancelled are
    /// removed. Returns every consumer as it was, in channel order, and whether it was removed (every buffer is to
    /// be emptied: the broker requeued those deliveries; a removed one's is finished too).
    mutating func connectionLost() -> [(record: ConsumerRecord, removed: Bool)] {
        controlChannelOpen = false
        var affected: [(record: ConsumerRecord, removed: Bool)] = []
        for channel in channels {
            records[channel]?.channelOpen = false
            records[channel]?.consuming = false
            guard let record = records[channel] else { continue }
            if record.cancelled { remove(channel) }
            affected.append((record, record.cancelled))
        }
        return affected
    }

    /// What to redo after a reconnect: the channels of the consumers to start again, in order, and the cancelled
    /// consumers, now removed (finish their buffers).
    mutating func restorePlan() -> (restart: [UInt16], removed: [ConsumerRecord]) {
        var restart: [UInt16] = []
        var removed: [ConsumerRecord] = []
        for channel in channels {
            guard let record = records[channel] else { continue }
            if record.cancelled {
                remove(channel)
                removed.append(record)
            } else {
                restart.append(channel)
            }
        }
        return (restart, removed)
    }
}
