import Batch
import BatchTestKit
import Testing

@testable import BatchWorker

/// Waits that a signal ends at once instead of polling: a flag's timed wait, the capacity's timed wait for a slot,
/// and a waiting manager's wake.
@Suite struct WakeUpTests {
    /// Runs `body` and returns how long it took.
    static func elapsed(_ body: () async -> Void) async -> Duration {
        let start = ContinuousClock.now
        await body()
        return ContinuousClock.now - start
    }

    @Test func aSignalEndsTheWaitLongBeforeItsTimeout() async throws {
        let wakeUp = ShutdownFlag()
        let waiting = Task { await Self.elapsed { await wakeUp.wait(atMost: .seconds(30)) } }
        try await Task.sleep(for: .milliseconds(50))
        wakeUp.request()
        #expect(await waiting.value < .seconds(10))
    }

    @Test func aSignalBeforeTheWaitIsNotLostAndTheTimeoutStillEndsAnUnsignalledWait() async {
        let early = ShutdownFlag()
        early.request()
        #expect(await Self.elapsed { await early.wait(atMost: .seconds(30)) } < .seconds(10))
        let late = ShutdownFlag()
        let waited = await Self.elapsed { await late.wait(atMost: .milliseconds(100)) }
        #expect(waited >= .milliseconds(100))
        #expect(!late.isRequested, "a timeout sets nothing")
    }

    @Test func aCancelledWaitReturns() async throws {
        let wakeUp = ShutdownFlag()
        let waiting = Task { await Self.elapsed { await wakeUp.wait(atMost: .seconds(30)) } }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        #expect(await waiting.value < .seconds(10))
    }

    @Test func theTimedWaitForASlotEndsWhenAJobEndsAndTimesOutWhileFull() async throws {
        let capacity = WorkerCapacity(limit: 1)
        capacity.add(1)
        // Still full after the timeout: false.
        #expect(await capacity.waitForFreeSlot(atMost: .milliseconds(50)) == false)
        let waiting = Task { await capacity.waitForFreeSlot(atMost: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        capacity.remove(1)
        #expect(await waiting.value)
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(await capacity.waitForFreeSlot(atMost: .seconds(30)))  // free: at once
    }

    @Test func twoTakersNeverShareTheLastSlot() async throws {
        let capacity = WorkerCapacity(limit: 2)
        capacity.add(1)
        // The command loop and the partition loop both saw one free slot; only one may have it.
        #expect(capacity.tryReserve())
        #expect(!capacity.tryReserve(), "the last slot is held")
        #expect(capacity.isFull)
        // The first taker's launch is settled: counted as running, its reservation given back. Still full.
        capacity.add(2)
        capacity.unreserve()
        #expect(!capacity.tryReserve())
        capacity.remove(1)
        #expect(capacity.tryReserve(), "a freed slot can be taken")
        #expect(capacity.isFull, "held by its reservation")
    }

    @Test func aManagersWaitEndsAtAWakeAndAWakeBetweenTwoWaitsIsKept() async throws {
        let dispatcher = WorkerPartitionDispatcher(
            sink: InMemoryEventSink(), capacity: WorkerCapacity(limit: 2), lease: .seconds(10), maxAttempts: 3)
        dispatcher.managerWaiting(jobExecutionId: 5, true)
        let waiting = Task {
            await Self.elapsed { await dispatcher.waitForPartitions(of: 5, atMost: .seconds(30)) }
        }
        try await Task.sleep(for: .milliseconds(50))
        dispatcher.wake(5)
        #expect(await waiting.value < .seconds(10))
        // A wake while nobody waits: the next wait returns at once, the one after waits its time.
        dispatcher.wake(5)
        #expect(await Self.elapsed { await dispatcher.waitForPartitions(of: 5, atMost: .seconds(30)) } < .seconds(10))
        #expect(
            await Self.elapsed { await dispatcher.waitForPartitions(of: 5, atMost: .milliseconds(100)) }
                >= .milliseconds(100))
        // Another execution's wake does not end this one's wait.
        dispatcher.wake(6)
        #expect(
            await Self.elapsed { await dispatcher.waitForPartitions(of: 5, atMost: .milliseconds(100)) }
                >= .milliseconds(100))
        dispatcher.managerWaiting(jobExecutionId: 5, false)
    }
}
