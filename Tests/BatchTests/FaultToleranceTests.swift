import Batch
import BatchTestKit
import Synchronization
import Testing

/// An error the tests call bad data: skippable.
struct BadRecord: Error, CustomStringConvertible {
    let item: Int
    var description: String { "bad record \(item)" }
}

/// An error the tests call passing: retryable.
struct Glitch: Error, CustomStringConvertible {
    var description: String { "glitch" }
}

/// Stores chunks only when every item is good (all or nothing, like a transactional table).
final class AtomicStore: Sendable {
    let rows = Mutex<[Int]>([])
    let writeCalls = Mutex(0)
    let poison: Set<Int>
    let glitches = Mutex(0)

    init(poison: Set<Int> = [], glitches: Int = 0) {
        self.poison = poison
        self.glitches.withLock { $0 = glitches }
    }

    func write(_ items: [Int]) throws {
        writeCalls.withLock { $0 += 1 }
        let glitch = glitches.withLock { count -> Bool in
            guard count > 0 else { return false }
            count -= 1
            return true
        }
        if glitch { throw Glitch() }
        if let bad = items.first(where: poison.contains) { throw BadRecord(item: bad) }
        rows.withLock { $0.append(contentsOf: items) }
    }
}

struct SkipRecorder: SkipListener, RetryListener {
    let skips = Recorder<String>()
    let retries = Recorder<Int>()
    func onSkip(_ item: SkippedItem, error: any Error) async { skips.append("\(item.phase.rawValue):\(item.reason)") }
    func onRetry(attempt: Int, error: any Error, context: StepContext) async { retries.append(attempt) }
}

@Suite("Fault-tolerant chunk steps")
struct FaultToleranceTests {
    static let fast = Backoff(initial: .milliseconds(1), maximum: .milliseconds(5))

    static func job(
        items: Int, chunkSize: Int, store: AtomicStore, badInProcess: Set<Int> = [], skipLimit: Int = 10,
        retries: Int = 0, recorder: InMemorySkippedItems? = nil, listener: SkipRecorder? = nil
    ) -> Job {
        var step = ChunkStep(
            "load", chunkSize: chunkSize, reader: { _ in ArrayItemReader(Array(1...items)) },
            processor: { (n: Int) -> Int? in
                if badInProcess.contains(n) { throw BadRecord(item: n) }
                return n
            },
            writer: { _ in ClosureItemWriter<Int> { try store.write($0) } }
        )
        .skip(SkipPolicy(limit: skipLimit) { $0 is BadRecord })
        .retry(RetryPolicy(limit: retries, when: { $0 is Glitch }, backoff: fast))
        if let recorder { step = step.recordSkippedItems(recorder) }
        var job = Job("tolerant") { step }
        if let listener { job = job.listener(listener) }
        return job
    }

    @Test("a poison item in a chunk of 1,000: 999 written once, 1 skipped and recorded")
    func poisonItem() async throws {
        let store = AtomicStore(poison: [421])
        let recorder = InMemorySkippedItems()
        let listener = SkipRecorder()
        let jobOperator = try makeOperator(
            Self.job(items: 1_000, chunkSize: 1_000, store: store, recorder: recorder, listener: listener))
        let execution = try await jobOperator.start("tolerant")
        #expect(execution.status == .completed)
        let rows = store.rows.withLock { $0 }
        #expect(rows.count == 999)
        #expect(Set(rows).count == 999, "no item written twice")
        #expect(!rows.contains(421))
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters.read == 1_000)
        #expect(step.counters.write == 999)
        #expect(step.counters.writeSkip == 1)
        #expect(step.counters.rollback == 1, "the failed chunk write rolled back once")
        #expect(step.counters.commit == 1)
        #expect(recorder.items.map(\.phase) == [.write])
        #expect(recorder.items.first?.item == 421)
        #expect(recorder.items.first?.reason == "bad record 421")
        #expect(listener.skips.all == ["write:bad record 421"])
    }

    @Test("read and process skips are counted and recorded; filtered items are not skips")
    func processSkips() async throws {
        let store = AtomicStore()
        let recorder = InMemorySkippedItems()
        let jobOperator = try makeOperator(
            Self.job(items: 50, chunkSize: 10, store: store, badInProcess: [3, 17, 44], recorder: recorder))
        let execution = try await jobOperator.start("tolerant")
        #expect(execution.status == .completed)
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters.processSkip == 3)
        #expect(step.counters.filter == 0)
        #expect(step.counters.write == 47)
        #expect(recorder.items.compactMap(\.item) == [3, 17, 44])
    }

    @Test("a run of bad records is committed a chunk of skips at a time, not held in one chunk to the skip limit")
    func readSkipsEndChunks() async throws {
        /// 95 unreadable records, then 10 good ones.
        struct Reader: ItemReader {
            var next = 1
            mutating func read() async throws -> Int? {
                defer { next += 1 }
                if next <= 95 { throw BadRecord(item: next) }
                return next <= 105 ? next : nil
            }
        }
        let recorder = InMemorySkippedItems()
        let committedSkips = Recorder<Int>()
        let written = Recorder<Int>()
        let job = Job("bad-run") {
            ChunkStep(
                "load", chunkSize: 10, reader: { _ in Reader() },
                writer: { _ in ClosureItemWriter<Int> { written.append(contentsOf: $0) } }
            )
            .skip(SkipPolicy(limit: 1_000) { $0 is BadRecord })
            .recordSkippedItems(recorder)
            .listener(ChunkSkipCounter(recorder: recorder, counts: committedSkips))
        }
        let jobOperator = try makeOperator(job)
        let execution = try await jobOperator.start("bad-run")
        #expect(execution.status == .completed)
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters.readSkip == 95 && step.counters.read == 10)
        #expect(written.all == Array(96...105))
        #expect(recorder.items.count == 95)
        // Ten chunks of at most ten skips each, the last of them with the good records.
        #expect(step.counters.commit >= 10, "\(step.counters)")
        #expect(committedSkips.all.allSatisfy { $0 <= 10 }, "skips recorded per chunk: \(committedSkips.all)")
    }

    @Test("the skip limit reached fails the step with the counts so far")
    func skipLimit() async throws {
        let store = AtomicStore()
        let jobOperator = try makeOperator(
            Self.job(items: 100, chunkSize: 10, store: store, badInProcess: [5, 15, 25, 35], skipLimit: 3))
        let execution = try await jobOperator.start("tolerant")
        #expect(execution.status == .failed)
        #expect(execution.exitMessage.contains("skip limit (3)"))
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters.processSkip == 3, "three skips committed before the fourth failed the step")
        #expect(step.counters.commit == 3)
        #expect(store.rows.withLock { $0.count } == 27)
    }

    @Test("a transient writer error is retried and then succeeds, with no duplicates")
    func transientRetried() async throws {
        let store = AtomicStore(glitches: 2)
        let listener = SkipRecorder()
        let jobOperator = try makeOperator(
            Self.job(items: 30, chunkSize: 10, store: store, retries: 3, listener: listener))
        let execution = try await jobOperator.start("tolerant")
        #expect(execution.status == .completed)
        #expect(store.rows.withLock { $0 } == Array(1...30))
        #expect(listener.retries.all == [1, 2])
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters.rollback == 2)
        #expect(step.counters.write == 30)
    }

    @Test("retries exhausted on a non-skippable error fail the step")
    func retriesExhausted() async throws {
        let store = AtomicStore(glitches: 10)
        let jobOperator = try makeOperator(Self.job(items: 10, chunkSize: 10, store: store, retries: 2))
        let execution = try await jobOperator.start("tolerant")
        #expect(execution.status == .failed)
        #expect(execution.exitMessage.contains("glitch"))
        #expect(store.writeCalls.withLock { $0 } == 3, "one attempt and two retries")
        #expect(store.rows.withLock { $0 }.isEmpty)
    }

    @Test("the backoff grows, is capped, and takes off at most the jitter")
    func backoff() {
        let backoff = Backoff(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(1), jitter: 0.5)
        for _ in 0..<50 {
            let first = backoff.delay(beforeRetry: 1)
            #expect(first <= .milliseconds(100) && first >= .milliseconds(50))
            let third = backoff.delay(beforeRetry: 3)
            #expect(third <= .milliseconds(400) && third >= .milliseconds(200))
            #expect(backoff.delay(beforeRetry: 20) <= .seconds(1))
        }
        #expect(Backoff(initial: .milliseconds(10), jitter: 0).delay(beforeRetry: 2) == .milliseconds(20))
    }
}

/// Records, after each chunk, how many skipped items the chunk's commit recorded.
final class ChunkSkipCounter: ChunkListener {
    let recorder: InMemorySkippedItems
    let counts: Recorder<Int>
    let seen = Mutex(0)

    init(recorder: InMemorySkippedItems, counts: Recorder<Int>) {
        self.recorder = recorder
        self.counts = counts
    }

    func afterChunk(_ context: StepContext) async throws {
        let total = recorder.items.count
        let before = seen.withLock { seen in
            defer { seen = total }
            return seen
        }
        counts.append(total - before)
    }
}
