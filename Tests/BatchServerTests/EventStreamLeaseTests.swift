import BatchRabbitMQ
import BatchTestKit
import Testing

@testable import BatchServer

/// An event stream's slot and queue come back even when its response is dropped before its body runs (the client
/// left before the response's head could be written): a hundred such clients must not lock every stream out.
@Suite(.tags(.endToEnd), .timeLimit(.minutes(2)))
struct EventStreamLeaseTests {
    @Test("a lease dropped unused gives its slot back and deletes its queue; a released one, once")
    func aDroppedLeaseGivesEverythingBack() async throws {
        try await ServerWorld.with(workers: 0) { world in
            let slots = StreamSlots(limit: 1)
            #expect(slots.take())
            let queue = try await {
                let subscription = try await EventSubscription.open(world.messaging, job: nil)
                _ = EventStreamLease(subscription: subscription, slots: slots)  // dropped at once
                return subscription.queue
            }()
            #expect(slots.take(), "the slot is free again")
            try await eventually("the queue is deleted", timeout: .seconds(10)) {
                try await ServerEventsTests.lookUp(queue, world) == .notFound
            }

            let subscription = try await EventSubscription.open(world.messaging, job: nil)
            let lease = EventStreamLease(subscription: subscription, slots: slots)
            await lease.release()
            await lease.release()
            #expect(slots.take(), "given back once")
            #expect(!slots.take(), "and only once")
            #expect(try await ServerEventsTests.lookUp(subscription.queue, world) == .notFound)
        }
    }
}
