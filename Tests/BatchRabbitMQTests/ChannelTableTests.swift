import Testing

@testable import BatchRabbitMQ

/// Adds a consumer of `queue` and returns its channel.
private func add(_ table: inout ChannelTable, _ queue: String, prefetch: UInt16 = 4) -> UInt16? {
    table.add(queue: queue, tag: "tag-\(queue)", prefetch: prefetch, exclusive: false, buffer: DeliveryBuffer())
}

/// Walks the start steps the way the loop does, as if the broker accepted each; returns the steps taken.
@discardableResult
private func start(_ table: inout ChannelTable, _ channel: UInt16) -> [ChannelTable.StartStep] {
    var steps: [ChannelTable.StartStep] = []
    while true {
        let step = table.nextStartStep(channel)
        steps.append(step)
        switch step {
        case .openChannel: table.channelOpened(channel)
        case .consume: table.consumeStarted(channel)
        case .done:
            table.started(channel)
            return steps
        }
    }
}

/// The consumer a delivery on `channel` for its current consumer goes to; nil when it goes back or nowhere.
private func target(_ table: ChannelTable, _ channel: UInt16) -> ConsumerRecord? {
    guard let tag = table[channel]?.tag,
        case .consumer(let record) = table.route(deliveryOn: channel, isTag: { $0 == tag })
    else { return nil }
    return record
}

private let backoff = Backoff(.init(initialDelay: .milliseconds(100), maximumDelay: .seconds(1), jitter: 0.2))

@Suite struct ChannelTableTests {
    @Test func consumersGetChannelsFromThreeAndAClosedOnesChannelIsReused() throws {
        var table = ChannelTable()
        #expect(add(&table, "a") == 3)
        #expect(add(&table, "b") == 4)
        #expect(add(&table, "c") == 5)
        let closedRecord = table.close(4)
        let closed = try #require(closedRecord)
        #expect(closed.queue == "b" && closed.cancelled)
        #expect(table[4] == nil)
        #expect(add(&table, "d") == 4)
        #expect(table[4]?.queue == "d")
        #expect(add(&table, "e") == 6)
        #expect(table.channels == [3, 4, 5, 6])
    }

    @Test func noChannelIsGivenBeyondTheLimit() {
        var table = ChannelTable(channelLimit: 5)
        #expect(add(&table, "a") == 3)
        #expect(add(&table, "b") == 4)
        #expect(add(&table, "c") == nil)
        table.remove(3)
        #expect(add(&table, "c") == 3)
    }

    @Test func aConsumerOpensItsChannelWithItsPrefetchThenConsumes() throws {
        var table = ChannelTable()
        let channel = try #require(add(&table, "a", prefetch: 7))
        #expect(
            start(&table, channel) == [
                .openChannel(prefetch: 7), .consume(queue: "a", tag: "tag-a", exclusive: false), .done,
            ])
        let record = try #require(table[channel])
        #expect(record.channelOpen && record.consuming)
        #expect(start(&table, channel) == [.done], "a running consumer has nothing to redo")
    }

    @Test func pauseResumeAndCancelMoveTheConsumerThroughItsStates() throws {
        var table = ChannelTable()
        let channel = try #require(add(&table, "a"))
        start(&table, channel)

        let pausedRecord = table.pause(channel)
        let paused = try #require(pausedRecord)
        #expect(paused.paused && paused.consuming, "the caller cancels at the broker while it still consumes")
        table.consumeCancelled(channel)
        #expect(table.pause(channel) == nil, "pausing twice does nothing")
        #expect(target(table, channel) == nil, "a paused consumer's deliveries go back")
        #expect(start(&table, channel) == [.done], "a paused consumer does not consume")

        #expect(table.resume(channel) == true)
        #expect(table.resume(channel) == false, "resuming a running consumer does nothing")
        #expect(start(&table, channel) == [.consume(queue: "a", tag: "tag-a", exclusive: false), .done])
        #expect(target(table, channel)?.queue == "a")
        // A delivery for another consumer tag (an earlier consumer of this channel number) goes nowhere.
        guard case .drop = table.route(deliveryOn: channel, isTag: { $0 == "tag-earlier" }) else {
            Issue.record("a delivery for an earlier consumer was not dropped")
            return
        }

        let cancelledRecord = table.cancel(channel)
        let cancelled = try #require(cancelledRecord)
        #expect(cancelled.cancelled)
        #expect(table.cancel(channel) == nil, "cancelling twice does nothing")
        table.consumeCancelled(channel)
        #expect(table[channel]?.channelOpen == true, "the channel stays open for settlements")
        #expect(table.pause(channel) != nil)
        #expect(table.resume(channel) == false, "a cancelled consumer never resumes")
        #expect(start(&table, channel) == [.done])
    }

    @Test func eachOpeningIsANewEpochAndSettlementsOfAnOldOneAreRefused() throws {
        var table = ChannelTable()
        let channel = try #require(add(&table, "a"))
        start(&table, channel)
        let first = try #require(table[channel]?.epoch)
        #expect(table.acceptsSettlement(channel: channel, epoch: first))
        _ = table.connectionLost()
        #expect(!table.acceptsSettlement(channel: channel, epoch: first), "the channel is closed")
        start(&table, channel)
        let second = try #require(table[channel]?.epoch)
        #expect(second != first)
        #expect(!table.acceptsSettlement(channel: channel, epoch: first))
        #expect(table.acceptsSettlement(channel: channel, epoch: second))
        // A reused channel number is a new incarnation too.
        _ = table.close(channel)
        let reused = try #require(add(&table, "b"))
        #expect(reused == channel)
        start(&table, reused)
        #expect(!table.acceptsSettlement(channel: reused, epoch: second))
    }

    @Test func aLostConnectionClosesEveryChannelAndRemovesTheCancelled() throws {
        var table = ChannelTable()
        table.controlChannelOpen = true
        let a = try #require(add(&table, "a"))
        let b = try #require(add(&table, "b"))
        let c = try #require(add(&table, "c"))
        for channel in [a, b, c] { start(&table, channel) }
        _ = table.cancel(b)
        _ = table.pause(c)

        let lost = table.connectionLost()
        #expect(lost.map(\.record.channel) == [a, b, c])
        #expect(lost.map(\.removed) == [false, true, false])
        #expect(!table.controlChannelOpen)
        #expect(table[a]?.channelOpen == false && table[a]?.consuming == false)
        #expect(table[b] == nil)

        let plan = table.restorePlan()
        #expect(plan.restart == [a, c])
        #expect(plan.removed.isEmpty)
        #expect(
            start(&table, a) == [
                .openChannel(prefetch: 4), .consume(queue: "a", tag: "tag-a", exclusive: false), .done,
            ])
        #expect(start(&table, c) == [.openChannel(prefetch: 4), .done], "a paused consumer reopens but waits")
    }

    @Test func aReconnectRemovesConsumersCancelledWhileItWasDown() throws {
        var table = ChannelTable()
        let a = try #require(add(&table, "a"))
        let b = try #require(add(&table, "b"))
        _ = table.connectionLost()
        _ = table.cancel(a)
        let plan = table.restorePlan()
        #expect(plan.restart == [b])
        #expect(plan.removed.map(\.channel) == [a])
        #expect(table[a] == nil)
        #expect(add(&table, "c") == a)
    }

    @Test func aBrokerCancelAsksForARedeclareUnlessTheConsumerIsPausedOrCancelled() throws {
        var table = ChannelTable()
        let a = try #require(add(&table, "a"))
        let b = try #require(add(&table, "b"))
        start(&table, a)
        start(&table, b)
        _ = table.pause(b)
        #expect(table.serverCancelled(tag: "tag-a") == a)
        #expect(table[a]?.needsRedeclare == true && table[a]?.consuming == false)
        #expect(table.serverCancelled(tag: "tag-b") == nil)
        #expect(table[b]?.consuming == false)
        #expect(table.serverCancelled(tag: "nobody") == nil)
        start(&table, a)
        #expect(table[a]?.needsRedeclare == false && table[a]?.consuming == true)
    }

    @Test func aChannelTheBrokerClosedRetriesOrIsRemovedWhenCancelled() throws {
        var table = ChannelTable()
        let a = try #require(add(&table, "a"))
        let b = try #require(add(&table, "b"))
        start(&table, a)
        start(&table, b)
        _ = table.cancel(b)
        guard case .retry(let retried)? = table.channelClosed(a) else {
            Issue.record("a running consumer retries")
            return
        }
        #expect(retried.channel == a && !retried.channelOpen && !retried.consuming)
        guard case .removed(let removed)? = table.channelClosed(b) else {
            Issue.record("a cancelled consumer is removed")
            return
        }
        #expect(removed.channel == b)
        #expect(table[b] == nil)
        #expect(table.channelClosed(b) == nil)
    }

    @Test func retriesBackOffAreDueInTimeAndResetOnceStarted() throws {
        var table = ChannelTable()
        let a = try #require(add(&table, "a"))
        let b = try #require(add(&table, "b"))
        var random = FixedRandom(value: 0)
        let now = ContinuousClock.now
        #expect(table.dueRetries(at: now).isEmpty)
        #expect(table.earliestRetry == nil)
        let firstOfA = table.scheduleRetry(a, now: now, backoff: backoff, using: &random)
        let secondOfA = table.scheduleRetry(a, now: now, backoff: backoff, using: &random)
        let firstOfB = table.scheduleRetry(b, now: now, backoff: backoff, using: &random)
        let nobody = table.scheduleRetry(9, now: now, backoff: backoff, using: &random)
        #expect(roughly(firstOfA, .milliseconds(80)))
        #expect(roughly(secondOfA, .milliseconds(160)))
        #expect(roughly(firstOfB, .milliseconds(80)))
        #expect(nobody == nil)
        #expect(roughly(table.earliestRetry.map { now.duration(to: $0) }, .milliseconds(80)))
        #expect(table.dueRetries(at: now + .milliseconds(79)).isEmpty)
        #expect(table.dueRetries(at: now + .milliseconds(100)) == [b])
        #expect(table.dueRetries(at: now + .milliseconds(161)) == [a, b])
        start(&table, a)
        #expect(table[a]?.retryAt == nil && table[a]?.retryAttempt == 0)
        let afterStart = table.scheduleRetry(a, now: now, backoff: backoff, using: &random)
        #expect(roughly(afterStart, .milliseconds(80)), "a started consumer backs off from the start again")
        _ = table.pause(b)
        #expect(table.dueRetries(at: now + .seconds(1)) == [a], "pausing drops the pending retry")
    }
}
