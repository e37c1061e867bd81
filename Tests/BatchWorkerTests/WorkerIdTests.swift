import Batch
import BatchTestKit
import Testing

@testable import BatchWorker

/// Two live workers never share an id (each would fail the other's executions as orphans); a worker restarted
/// under a fixed id takes it over once its lost predecessor's lease ran out.
@Suite("Worker ids")
struct WorkerIdTests {
    @Test("a restarted worker waits for its lost predecessor's lease, then takes the id")
    func takesALostWorkersIdOnceItsLeaseRanOut() async throws {
        let registry = InMemoryWorkerRegistry()
        try await registry.register(
            workerId: "w", token: "t1", host: "h1", pid: 1, capacity: 1, lease: .milliseconds(300))
        let start = ContinuousClock.now
        try await registry.registerWhenFree(
            workerId: "w", token: "t2", host: "h2", pid: 2, capacity: 1, lease: .seconds(5), logger: quietLogger)
        #expect(ContinuousClock.now - start >= .milliseconds(250), "it waited for the lease")
        #expect(registry.workers["w"]?.host == "h2")
    }

    @Test(
        "a second live worker with the same id is refused, saying who holds it; a waiter waits for the holder's lease")
    func aLiveWorkersIdIsRefused() async throws {
        let registry = InMemoryWorkerRegistry()
        try await registry.register(workerId: "w", token: "t1", host: "h1", pid: 1, capacity: 1, lease: .seconds(30))
        // Same host and process id (two containers sharing the host's network), another process: the token tells.
        let refused = await #expect(throws: BatchError.self) {
            try await registry.register(
                workerId: "w", token: "t2", host: "h1", pid: 1, capacity: 1, lease: .milliseconds(100))
        }
        #expect(refused?.code == .workerIdInUse)
        #expect(refused?.message.contains("host h1, pid 1") == true, "\(String(describing: refused))")
        #expect(try await !registry.heartbeat(workerId: "w", token: "t2"), "a heartbeat counts for its process only")
        // A waiter with a 0.1 s lease of its own is still waiting after that and two seconds: it waits for the
        // holder's 30 s.
        let waiting = Task {
            try await registry.registerWhenFree(
                workerId: "w", token: "t2", host: "h1", pid: 1, capacity: 1, lease: .milliseconds(100),
                logger: quietLogger)
        }
        try await Task.sleep(for: .milliseconds(2_500))
        waiting.cancel()
        let outcome = await waiting.result
        #expect(throws: CancellationError.self, "still waiting when cancelled") { try outcome.get() }
        #expect(registry.workers["w"]?.token == "t1", "the live worker keeps its id")
        // The same process registering again (after its row was removed, say) is not refused.
        try await registry.register(workerId: "w", token: "t1", host: "h1", pid: 1, capacity: 1, lease: .seconds(30))
    }
}
