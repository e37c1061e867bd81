import Batch
import BatchTestKit
import Synchronization
import Testing

/// A stop ends what it reaches STOPPED, whatever the step's policies: a tasklet that returns on it, a stop thrown
/// inside a fault-tolerant chunk, partitions still queued. And a resource's failure is not an item to skip.
@Suite("Stop semantics and errors no policy skips")
struct StopSemanticsTests {
    /// A tasklet that works in rounds, saving its progress, and returns (without throwing) once a stop is requested.
    static func politeJob(rounds: Recorder<Int>) -> Job {
        Job("polite") {
            Step("work") { context in
                var round = context.stepContext.int("round") ?? 0
                while round < 200 {
                    if try await context.isStopRequested { return }
                    round += 1
                    rounds.append(round)
                    context.stepContext["round"] = .int(Int64(round))
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
        }
    }

    @Test("a tasklet that returns because a stop was requested ends STOPPED, and a restart finishes its work")
    func politeTasklet() async throws {
        let rounds = Recorder<Int>()
        let jobOperator = try makeOperator(Self.politeJob(rounds: rounds))
        let id = try await jobOperator.startAsync("polite")
        #expect(try await eventually { rounds.all.count >= 3 })
        try await jobOperator.stop(.executionId(id))
        let stopped = try await jobOperator.wait(for: id)
        #expect(stopped.status == .stopped, "not COMPLETED: its rounds are unfinished")
        #expect(try await jobOperator.execution(id).steps.map(\.status) == [.stopped])
        let done = rounds.all.count
        #expect(done < 200)
        let restarted = try await jobOperator.restart(.executionId(id))
        #expect(restarted.status == .completed)
        #expect(rounds.all == Array(1...200), "the restart resumed from the saved round; none done twice")
    }

    /// Items 1…10 in chunks of 2, a skip-everything policy, and a processor that throws a stop at item 5 the first
    /// time (what `throwIfStopRequested()` throws).
    static func stoppingJob(store: AtomicStore, once: FailOnce) -> Job {
        Job("stopping") {
            ChunkStep(
                "load", chunkSize: 2, reader: { _ in ArrayItemReader(Array(1...10)) },
                processor: { (n: Int) -> Int? in
                    if n == 5, once.shouldFail("stop") { throw BatchError(.stopped, "step 'load' stopped on request") }
                    return n
                },
                writer: { _ in ClosureItemWriter<Int> { try store.write($0) } }
            )
            .skip(SkipPolicy(limit: 100))
            .retry(RetryPolicy(limit: 3, when: { _ in true }, backoff: FaultToleranceTests.fast))
        }
    }

    @Test("a stop thrown inside a chunk is neither retried nor skipped: the step ends STOPPED and loses no item")
    func stopIsNotSkipped() async throws {
        let store = AtomicStore()
        let jobOperator = try makeOperator(Self.stoppingJob(store: store, once: FailOnce()))
        let first = try await jobOperator.start("stopping")
        #expect(first.status == .stopped)
        let step = try #require(try await jobOperator.execution(first.id).steps.first)
        #expect(step.status == .stopped)
        #expect(step.counters.processSkip == 0, "the item the stop met was not skipped")
        #expect(store.rows.withLock { $0 } == [1, 2, 3, 4])
        let restarted = try await jobOperator.restart(.executionId(first.id))
        #expect(restarted.status == .completed)
        #expect(store.rows.withLock { $0 } == Array(1...10), "item 5 was processed on restart, nothing twice")
    }

    /// A reader whose file fails for good after item 3.
    struct BrokenFileReader: ItemReader {
        var next = 1
        mutating func read() async throws -> Int? {
            guard next <= 3 else { throw BatchError(.fileFailure, "cannot read 'input.csv': Input/output error") }
            defer { next += 1 }
            return next
        }
    }

    @Test("a file that cannot be read fails the step at once: it is not skipped read after read to the limit")
    func fileFailureIsNotSkipped() async throws {
        let store = AtomicStore()
        let recorder = InMemorySkippedItems()
        let job = Job("broken") {
            ChunkStep(
                "load", chunkSize: 10, reader: { _ in BrokenFileReader() },
                writer: { _ in ClosureItemWriter<Int> { try store.write($0) } }
            )
            .skip(SkipPolicy(limit: 1_000))
            .recordSkippedItems(recorder)
        }
        let jobOperator = try makeOperator(job)
        let execution = try await jobOperator.start("broken")
        #expect(execution.status == .failed)
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters.readSkip == 0)
        #expect(recorder.items.count == 0)
        #expect(step.exitMessage.contains("Input/output error"), "\(step.exitMessage)")
        #expect(!step.exitMessage.contains("skip limit"), "\(step.exitMessage)")
    }

    @Test("after a stop, partitions still queued are not started; a restart runs them")
    func queuedPartitionsWaitForTheRestart() async throws {
        let started = Recorder<String>()
        let job = Job("queued") {
            PartitionStep(
                "p", partitions: 6, maxConcurrency: 1,
                partitioner: NumberedPartitioner(),
                step: Step("work") { context in
                    started.append(context.stepName)
                    try await Task.sleep(for: .milliseconds(100))
                })
        }
        let jobOperator = try makeOperator(job)
        let id = try await jobOperator.startAsync("queued")
        #expect(try await eventually { !started.all.isEmpty })
        try await jobOperator.stop(.executionId(id))
        let stopped = try await jobOperator.wait(for: id)
        #expect(stopped.status == .stopped)
        let firstRun = try await jobOperator.execution(id).steps.filter { $0.stepName.hasPrefix("p:") }
        #expect(firstRun.count < 6, "queued partitions did not start: \(firstRun.map(\.stepName))")
        let restarted = try await jobOperator.restart(.executionId(id))
        #expect(restarted.status == .completed)
        #expect(Set(started.all).count == 6, "every partition ran in the end")
    }

    /// A reader that records whether it was closed.
    struct ClosingReader: ItemReader {
        let closed: Recorder<BatchStatus>
        var items = [1, 2, 3]
        mutating func read() async throws -> Int? { items.isEmpty ? nil : items.removeFirst() }
        mutating func close(_ status: BatchStatus) async throws { closed.append(status) }
    }

    /// A writer whose final close fails (a full disk at the last flush).
    struct FailingCloseWriter: ItemWriter {
        mutating func write(_ items: [Int], in transaction: any ChunkTransaction) async throws {}
        mutating func close(_ status: BatchStatus) async throws {
            throw BatchError(.fileFailure, "cannot finish 'out.csv': No space left on device")
        }
    }

    @Test("a writer whose close fails still lets the reader close")
    func readerClosesAfterAFailedWriterClose() async throws {
        let closed = Recorder<BatchStatus>()
        let job = Job("closing") {
            ChunkStep(
                "copy", chunkSize: 10, reader: { _ in ClosingReader(closed: closed) },
                writer: { _ in FailingCloseWriter() })
        }
        let execution = try await makeOperator(job).start("closing")
        #expect(execution.status == .failed)
        #expect(closed.all == [.failed])
    }
}
