import Testing

@testable import BatchRabbitMQ

/// A publish for the tracker: just an id and a destination.
private struct TestPublish: ConfirmablePublish, Equatable {
    var id: Int
    var exchange = "batch.events"
    var routingKey = "job.1"
    var mandatory = false
}

private typealias Tracker = ConfirmTracker<TestPublish>

/// A tracker with its channel open and `count` publishes sent (ids 1...count get tags 1...count).
private func tracker(sent count: Int) -> Tracker {
    var tracker = Tracker()
    tracker.channelOpened()
    for id in stride(from: 1, through: count, by: 1) { tracker.sent(TestPublish(id: id)) }
    return tracker
}

private func ids(_ settled: [(publish: TestPublish, outcome: Tracker.Outcome)]) -> [Int] {
    settled.map(\.publish.id)
}

@Suite struct ConfirmTrackerTests {
    @Test func publishesAreNumberedFromOneOnEachOpenedChannel() {
        var tracker = Tracker()
        tracker.channelOpened()
        #expect(tracker.sent(TestPublish(id: 1)) == 1)
        #expect(tracker.sent(TestPublish(id: 2)) == 2)
        tracker.connectionLost()
        tracker.channelOpened()
        #expect(tracker.sent(TestPublish(id: 3)) == 1)
    }

    @Test func anAckSettlesItsOwnPublishOnly() {
        var tracker = tracker(sent: 3)
        let settled = tracker.confirm(deliveryTag: 2, multiple: false, acknowledged: true)
        #expect(ids(settled) == [2])
        #expect(settled.map(\.outcome) == [.acknowledged])
        #expect(tracker.outstandingCount == 2)
    }

    @Test func aMultipleAckSettlesEveryPublishUpToItsTagInOrder() {
        var tracker = tracker(sent: 5)
        let settled = tracker.confirm(deliveryTag: 3, multiple: true, acknowledged: true)
        #expect(ids(settled) == [1, 2, 3])
        #expect(settled.allSatisfy { $0.outcome == .acknowledged })
        #expect(ids(tracker.confirm(deliveryTag: 5, multiple: true, acknowledged: true)) == [4, 5])
        #expect(tracker.outstandingCount == 0)
    }

    @Test func nacksFailTheirPublishesAndAMultipleNackFailsTheEarlierOnes() {
        var tracker = tracker(sent: 4)
        let single = tracker.confirm(deliveryTag: 1, multiple: false, acknowledged: false)
        #expect(ids(single) == [1])
        #expect(single.map(\.outcome) == [.nacked])
        let multiple = tracker.confirm(deliveryTag: 3, multiple: true, acknowledged: false)
        #expect(ids(multiple) == [2, 3])
        #expect(multiple.allSatisfy { $0.outcome == .nacked })
        #expect(ids(tracker.confirm(deliveryTag: 4, multiple: false, acknowledged: true)) == [4])
    }

    @Test func outOfOrderConfirmsSettleEachPublishOnce() {
        var tracker = tracker(sent: 5)
        #expect(ids(tracker.confirm(deliveryTag: 4, multiple: false, acknowledged: true)) == [4])
        #expect(ids(tracker.confirm(deliveryTag: 2, multiple: false, acknowledged: false)) == [2])
        // A multiple ack past the settled ones settles only those still outstanding.
        #expect(ids(tracker.confirm(deliveryTag: 5, multiple: true, acknowledged: true)) == [1, 3, 5])
        #expect(tracker.confirm(deliveryTag: 4, multiple: false, acknowledged: true).isEmpty)
        #expect(tracker.outstandingCount == 0)
    }

    @Test func tagsNeverSentSettleNothingAndCannotTrap() {
        var tracker = tracker(sent: 2)
        #expect(tracker.confirm(deliveryTag: 7, multiple: false, acknowledged: true).isEmpty)
        #expect(tracker.confirm(deliveryTag: 0, multiple: true, acknowledged: true).isEmpty)
        #expect(ids(tracker.confirm(deliveryTag: .max, multiple: true, acknowledged: true)) == [1, 2])
        #expect(tracker.sent(TestPublish(id: 3)) == 3)
        #expect(ids(tracker.confirm(deliveryTag: 3, multiple: false, acknowledged: true)) == [3])
    }

    @Test func aReturnMarksTheOldestMatchingMandatoryPublish() {
        var tracker = Tracker()
        tracker.channelOpened()
        tracker.sent(TestPublish(id: 1, mandatory: false))
        tracker.sent(TestPublish(id: 2, routingKey: "elsewhere", mandatory: true))
        tracker.sent(TestPublish(id: 3, mandatory: true))
        tracker.sent(TestPublish(id: 4, mandatory: true))
        #expect(tracker.returned(exchange: "batch.events", routingKey: "job.1", code: 312, text: "NO_ROUTE") == 3)
        #expect(tracker.returned(exchange: "batch.events", routingKey: "job.1", code: 312, text: "NO_ROUTE") == 4)
        #expect(tracker.returned(exchange: "batch.events", routingKey: "job.1", code: 312, text: "NO_ROUTE") == nil)
        let settled = tracker.confirm(deliveryTag: 4, multiple: true, acknowledged: true)
        #expect(ids(settled) == [1, 2, 3, 4])
        #expect(
            settled.map(\.outcome) == [
                .acknowledged, .acknowledged, .returned(code: 312, text: "NO_ROUTE"),
                .returned(code: 312, text: "NO_ROUTE"),
            ])
    }

    @Test func aLostConnectionResendsTheOutstandingFirstInOrderAndForgetsReturns() {
        var tracker = tracker(sent: 0)
        tracker.sent(TestPublish(id: 1, mandatory: true))
        tracker.sent(TestPublish(id: 2))
        tracker.sent(TestPublish(id: 3))
        _ = tracker.confirm(deliveryTag: 2, multiple: false, acknowledged: true)
        tracker.returned(exchange: "batch.events", routingKey: "job.1", code: 312, text: "NO_ROUTE")
        tracker.wait(TestPublish(id: 4))
        tracker.connectionLost()
        #expect(!tracker.channelOpen)
        #expect(tracker.outstandingCount == 0)
        let resend = tracker.takeWaiting()
        #expect(resend.map(\.id) == [1, 3, 4])
        #expect(tracker.waiting.isEmpty)
        tracker.channelOpened()
        for publish in resend { tracker.sent(publish) }
        #expect(tracker.confirm(deliveryTag: 1, multiple: false, acknowledged: true).map(\.outcome) == [.acknowledged])
    }

    @Test func aNewConnectionResendsWhatTheOldOneLeftUnconfirmed() {
        var tracker = tracker(sent: 2)
        tracker.connectionEstablished()
        #expect(!tracker.channelOpen)
        #expect(tracker.takeWaiting().map(\.id) == [1, 2])
    }

    @Test func aClosedChannelFailsTheOutstandingButKeepsTheWaiting() {
        var tracker = tracker(sent: 3)
        _ = tracker.confirm(deliveryTag: 1, multiple: false, acknowledged: true)
        tracker.wait(TestPublish(id: 9))
        #expect(tracker.channelClosed().map(\.id) == [2, 3])
        #expect(!tracker.channelOpen)
        #expect(tracker.outstandingCount == 0)
        #expect(tracker.waiting.map(\.id) == [9])
    }

    @Test func closingReturnsEveryOutstandingThenEveryWaitingPublish() {
        var tracker = tracker(sent: 3)
        _ = tracker.confirm(deliveryTag: 2, multiple: false, acknowledged: true)
        tracker.wait(TestPublish(id: 8))
        tracker.wait(TestPublish(id: 9))
        #expect(tracker.closeAll().map(\.id) == [1, 3, 8, 9])
        #expect(tracker.outstandingCount == 0 && tracker.waiting.isEmpty)
        #expect(tracker.closeAll().isEmpty)
    }
}
