import Batch
import BatchTestKit
import Testing

/// Chunk steps that read the next chunk while the current one commits (`readAhead()`).
@Suite("Chunk steps reading ahead")
struct ChunkStepReadAheadTests {
    /// A writer recording what it writes; for every chunk but the last it waits (up to `patience`) until the reader
    /// has begun the next chunk, and records whether that happened while it was writing.
    struct OverlapWriter: ItemWriter {
        let reads: Recorder<Int>
        let written: Recorder<Int>
        let overlapped: Recorder<Bool>
        let last: Int
        let patience: Duration
        var failOn: (chunkEndingAt: Int, once: FailOnce)?
        var gate: (chunkEndingAt: Int, gate: Gate)?

        mutating func write(_ items: [Int], in transaction: any ChunkTransaction) async throws {
            guard let end = items.last else { return }
            if let gate, gate.chunkEndingAt == end { await gate.gate.wait() }
            if end < last {
                let deadline = ContinuousClock.now + patience
                while !reads.all.contains(end + 1), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(1))
                }
                overlapped.append(reads.all.contains(end + 1))
            }
            if let failOn, failOn.chunkEndingAt == end, failOn.once.shouldFail("\(end)") {
                throw Boom(description: "write failed at chunk ending \(end)")
            }
            written.append(contentsOf: items)
        }
    }

    /// A recording reader that waits `pause` before each item after `slowAfter` (a slow source) until `fast` holds
    /// something.
    struct SlowReader: ItemReader {
        var inner: RecordingReader
        let slowAfter: Int?
        let pause: Duration
        let fast: Recorder<Bool>

        mutating func open(_ context: ExecutionContext) async throws { try await inner.open(context) }
        func update(_ context: inout ExecutionContext) { inner.update(&context) }
        mutating func read() async throws -> Int? {
            if let slowAfter, fast.all.isEmpty, inner.reads.all.last ?? 0 >= slowAfter {
                try await Task.sleep(for: pause)
            }
            return try await inner.read()
        }
    }

    struct Probe {
        let reads = Recorder<Int>()
        let written = Recorder<Int>()
        let overlapped = Recorder<Bool>()
        /// Turns a slow reader's pauses off.
        let fast = Recorder<Bool>()
    }

    static func job(
        _ probe: Probe, items: Int = 50, readAhead: Bool = true, patience: Duration = .seconds(10),
        failWriteAt: Int? = nil, failProcessAt: Int? = nil, gate: (Int, Gate)? = nil, skip: Bool = false,
        slowAfter: Int? = nil
    ) -> Job {
        let failOnce = FailOnce()
        var step = ChunkStep(
            "load", chunkSize: 10,
            reader: { _ in
                SlowReader(
                    inner: RecordingReader(Array(1...items), reads: probe.reads), slowAfter: slowAfter,
                    pause: .milliseconds(200), fast: probe.fast)
            },
            processor: { (item: Int) -> Int? in
                if item == failProcessAt, failOnce.shouldFail("process \(item)") {
                    throw Boom(description: "process failed at \(item)")
                }
                return item
            },
            writer: { _ in
                OverlapWriter(
                    reads: probe.reads, written: probe.written, overlapped: probe.overlapped, last: items,
                    patience: patience, failOn: failWriteAt.map { ($0, failOnce) }, gate: gate)
            }
        ).readAhead(readAhead)
        if skip { step = step.skip(SkipPolicy(limit: 1) { _ in false }) }
        return Job("read-ahead", steps: [step])
    }

    @Test("the next chunk is read while the current one is written, and every item is written once, in order")
    func readsWhileWriting() async throws {
        let probe = Probe()
        let jobOperator = try makeOperator(Self.job(probe))
        let execution = try await jobOperator.start("read-ahead")
        #expect(execution.status == .completed)
        #expect(probe.overlapped.all == [true, true, true, true], "each of the first 4 chunks saw the next one read")
        #expect(probe.written.all == Array(1...50))
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters == StepCounters(read: 50, write: 50, commit: 5))
        #expect(step.context["reader.index"] == 50)
    }

    @Test("without readAhead(), and with a skip policy, chunks are read one after the other")
    func sequentialOtherwise() async throws {
        for (readAhead, skip) in [(false, false), (true, true)] {
            let probe = Probe()
            let jobOperator = try makeOperator(
                Self.job(probe, readAhead: readAhead, patience: .milliseconds(30), skip: skip))
            #expect(try await jobOperator.start("read-ahead").status == .completed)
            #expect(probe.overlapped.all == [false, false, false, false])
            #expect(probe.written.all == Array(1...50))
        }
    }

    @Test("a write failure while the next chunk is read ahead: the checkpoint is the last committed chunk's end")
    func writeFailure() async throws {
        let probe = Probe()
        let jobOperator = try makeOperator(Self.job(probe, items: 100, failWriteAt: 40))
        let failed = try await jobOperator.start("read-ahead")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage.contains("write failed at chunk ending 40"))
        let step = try #require(try await jobOperator.execution(failed.id).steps.first)
        #expect(step.counters.commit == 3)
        #expect(step.counters.read == 30)
        #expect(step.counters.rollback == 1)
        #expect(step.context["reader.index"] == 30, "not the position of the chunk read ahead")
        #expect(probe.written.all == Array(1...30))
        #expect(probe.reads.all.starts(with: Array(1...50)), "chunk 5 was read ahead")

        probe.reads.removeAll()
        let restarted = try await jobOperator.restart(.executionId(failed.id))
        #expect(restarted.status == .completed)
        #expect(probe.reads.all == Array(31...100))
        #expect(probe.written.all == Array(1...100), "each item written exactly once")
    }

    @Test("a processor failure in the chunk read ahead fails the step after the chunk before it committed")
    func readFailure() async throws {
        let probe = Probe()
        let jobOperator = try makeOperator(Self.job(probe, items: 100, failProcessAt: 45))
        let failed = try await jobOperator.start("read-ahead")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage.contains("process failed at 45"))
        let step = try #require(try await jobOperator.execution(failed.id).steps.first)
        #expect(step.counters.commit == 4)
        #expect(step.context["reader.index"] == 40)
        #expect(probe.written.all == Array(1...40))

        probe.reads.removeAll()
        let restarted = try await jobOperator.restart(.executionId(failed.id))
        #expect(restarted.status == .completed)
        #expect(probe.reads.all == Array(41...100))
        #expect(probe.written.all == Array(1...100))
    }

    @Test("a stop ends the step after the chunk being written; the chunk read ahead is read again by the restart")
    func stop() async throws {
        let probe = Probe()
        let gate = Gate()
        // Items after 31 come slowly: the chunk read ahead when the stop comes is abandoned part-way, not read to
        // its end first.
        let jobOperator = try makeOperator(Self.job(probe, items: 100, gate: (30, gate), slowAfter: 31))
        let id = try await jobOperator.startAsync("read-ahead", parameters: JobParameters())
        // Chunk 4's read begins once chunk 3's write began (after chunk 2 committed and its stop check).
        try await eventually("chunk 3 is being written") { probe.reads.all.contains(31) }
        try await jobOperator.stop(.executionId(id))
        gate.open()
        let stopped = try await jobOperator.wait(for: id)
        #expect(stopped.status == .stopped)
        let step = try #require(try await jobOperator.execution(id).steps.first)
        #expect(step.status == .stopped)
        #expect(step.counters.commit == 3)
        #expect(step.context["reader.index"] == 30)
        #expect(!probe.reads.all.contains(40), "the read of chunk 4 was cancelled")

        probe.fast.append(true)
        probe.reads.removeAll()
        let restarted = try await jobOperator.restart(.executionId(id))
        #expect(restarted.status == .completed)
        #expect(probe.reads.all == Array(31...100))
        #expect(probe.written.all == Array(1...100))
    }
}

/// Reading ahead, a chunk is written while the previous chunk's commit completes.
@Suite("Chunk steps reading ahead: overlapped commits", .timeLimit(.minutes(1)))
struct ChunkStepOverlappedCommitTests {
    static func job(written: Recorder<Int>, whileWriting: @escaping @Sendable ([Int]) async -> Void) -> Job {
        Job("overlap") {
            ChunkStep(
                "load", chunkSize: 10, reader: { _ in RecordingReader(Array(1...50), reads: Recorder()) },
                writer: { _ in
                    ClosureItemWriter<Int> { items in
                        await whileWriting(items)
                        written.append(contentsOf: items)
                    }
                }
            ).readAhead()
        }
    }

    /// The checkpoints (the reader's index) of the chunk commits that began, and of those let go on.
    final class Commits: Sendable {
        let begun = Recorder<Int64>()
        let released = Recorder<Int64>()
        let held = Gate()
    }

    static func index(_ step: StepExecution) -> Int64 {
        if case .int(let index) = step.context["reader.index"] { return index }
        return -1
    }

    @Test("chunk 3 is written while chunk 2's commit is held; every count and the checkpoint come out exact")
    func writesWhileCommitting() async throws {
        let commits = Commits()
        let repository = InterceptingRepository(beforeChunkCommit: { step in
            commits.begun.append(Self.index(step))
            if Self.index(step) == 20 {
                // Held until chunk 3's write lets it go; at most 5 s, so a step writing only after the commit
                // returned fails the test instead of hanging it.
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await commits.held.wait() }
                    group.addTask { try? await Task.sleep(for: .seconds(5)) }
                    await group.next()
                    group.cancelAll()
                    commits.held.open()
                }
            }
            commits.released.append(Self.index(step))
        })
        let written = Recorder<Int>()
        let sawHeldCommit = Recorder<Bool>()
        let job = Self.job(written: written) { items in
            guard items.first == 21 else { return }
            // Chunk 2's commit began and is held: this write runs beside it. Let it go after looking.
            sawHeldCommit.append(commits.begun.all.contains(20) && !commits.released.all.contains(20))
            commits.held.open()
        }
        let jobOperator = JobOperator(registry: try JobRegistry([job]), repository: repository)
        let execution = try await jobOperator.start("overlap")
        #expect(execution.status == .completed)
        #expect(sawHeldCommit.all == [true])
        #expect(commits.begun.all == [10, 20, 30, 40, 50], "the commits ran in order")
        #expect(written.all == Array(1...50))
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters == StepCounters(read: 50, write: 50, commit: 5))
        #expect(step.context["reader.index"] == 50)
    }

    @Test("a commit that fails while the next chunk is written: the step fails at the last committed chunk")
    func failedCommit() async throws {
        let failOnce = FailOnce()
        let repository = InterceptingRepository(beforeChunkCommit: { step in
            if Self.index(step) == 20, failOnce.shouldFail("commit 2") {
                throw Boom(description: "the commit of chunk 2 failed")
            }
        })
        let written = Recorder<Int>()
        let jobOperator = JobOperator(
            registry: try JobRegistry([Self.job(written: written) { _ in }]), repository: repository)
        let failed = try await jobOperator.start("overlap")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage.contains("the commit of chunk 2 failed"))
        let step = try #require(try await jobOperator.execution(failed.id).steps.first)
        #expect(step.counters.commit == 1)
        #expect(step.counters.write == 10)
        #expect(step.context["reader.index"] == 10)

        written.removeAll()
        let restarted = try await jobOperator.restart(.executionId(failed.id))
        #expect(restarted.status == .completed)
        #expect(written.all == Array(11...50), "the restart writes from chunk 2 on")
        let done = try #require(try await jobOperator.execution(restarted.id).steps.first)
        #expect(done.context["reader.index"] == 50)
    }
}
