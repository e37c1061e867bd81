import Testing

@testable import BatchRabbitMQ

private let policy = AMQPConfiguration.Reconnect(
    initialDelay: .milliseconds(100), maximumDelay: .seconds(2), jitter: 0.2)

// The declarations the replay tests remember and forget.
private let exchange = AMQPDeclaration.exchange("x", type: .topic)
private let queue = AMQPDeclaration.queue("q")
private let binding = AMQPDeclaration.bind("q", to: "x", routingKey: "#")
private let other = AMQPDeclaration.queue("other")

@Suite struct ReconnectPlanTests {
    @Test func theBackoffDoublesUpToItsCapWithinTheJitter() {
        let backoff = Backoff(policy)
        var low = FixedRandom(value: 0)
        var high = FixedRandom(value: .max)
        let shortest = (0..<8).map { backoff.delay(attempt: $0, using: &low) }
        let longest = (0..<8).map { backoff.delay(attempt: $0, using: &high) }
        let uncapped: [Duration] = [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
            .seconds(2), .seconds(2), .seconds(2),
        ]
        for attempt in 0..<8 {
            #expect(roughly(shortest[attempt], uncapped[attempt] * 0.8), "attempt \(attempt)")
            #expect(roughly(longest[attempt], uncapped[attempt] * 1.2), "attempt \(attempt)")
            #expect(longest[attempt] <= uncapped[attempt] * 1.2, "attempt \(attempt)")
        }
    }

    @Test func hugeOrNegativeAttemptsAndOddJitterStayInBounds() {
        var backoff = Backoff(policy)
        var low = FixedRandom(value: 0)
        let huge = backoff.delay(attempt: .max, using: &low)
        let negative = backoff.delay(attempt: -3, using: &low)
        #expect(roughly(huge, .milliseconds(1600)))
        #expect(roughly(negative, .milliseconds(80)))
        backoff.jitter = 7
        let clampedHigh = backoff.delay(attempt: 0, using: &low)
        #expect(clampedHigh == .zero)
        backoff.jitter = -1
        let clampedLow = backoff.delay(attempt: 0, using: &low)
        #expect(clampedLow == .milliseconds(100))
        backoff.jitter = .nan
        let notANumber = backoff.delay(attempt: 0, using: &low)
        #expect(notANumber == .milliseconds(100))
        backoff = Backoff(
            .init(initialDelay: .seconds(1_000_000_000), maximumDelay: .seconds(3_000_000_000), jitter: 0))
        let long = backoff.delay(attempt: 40, using: &low)
        #expect(long > .seconds(2_999_999_999) && long < .seconds(3_000_000_001), "capped, without overflowing")
    }

    @Test func attemptsWaitLongerUntilOneSucceedsThenALossStartsOver() {
        let start = ContinuousClock.now
        var plan = ReconnectPlan(backoff: Backoff(policy), now: start)
        var random = FixedRandom(value: 0)
        #expect(plan.isDue(at: start))
        let lost = plan.connectionLost(now: start, using: &random)
        #expect(roughly(lost, .milliseconds(80)))
        #expect(!plan.isDue(at: start + .milliseconds(79)))
        #expect(plan.isDue(at: start + .milliseconds(81)))
        let first = plan.attemptFailed(now: start, using: &random)
        let second = plan.attemptFailed(now: start, using: &random)
        #expect(roughly(first, .milliseconds(160)))
        #expect(roughly(second, .milliseconds(320)))
        #expect(plan.attempt == 2)
        #expect(roughly(start.duration(to: plan.nextAttempt), .milliseconds(320)))
        plan.succeeded()
        #expect(plan.attempt == 0)
        let afterSuccess = plan.attemptFailed(now: start, using: &random)
        #expect(roughly(afterSuccess, .milliseconds(160)), "a failure after a success backs off from the start")
        let lostAgain = plan.connectionLost(now: start, using: &random)
        #expect(roughly(lostAgain, .milliseconds(80)), "a new loss starts over")
        #expect(plan.attempt == 0)
    }

    @Test func declarationsReplayOnceEachInTheOrderFirstMade() {
        var plan = ReconnectPlan(backoff: Backoff(policy))
        plan.remember([exchange, queue, queue, binding])
        plan.remember([queue, other, exchange])
        #expect(plan.declarations == [exchange, queue, binding, other])
    }

    @Test func deletingAQueueOrAnExchangeForgetsItAndItsBindings() {
        var plan = ReconnectPlan(backoff: Backoff(policy))
        let otherBinding = AMQPDeclaration.bind("other", to: "x", routingKey: "a")
        plan.remember([exchange, queue, binding, other, otherBinding])
        plan.forget(queue: "q")
        #expect(plan.declarations == [exchange, other, otherBinding])
        plan.forget(exchange: "x")
        #expect(plan.declarations == [other])
        plan.remember([queue])
        #expect(plan.declarations == [other, queue])
    }
}
