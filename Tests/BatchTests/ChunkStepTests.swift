import Batch
import BatchTestKit
import Testing

/// An array reader that records every item it reads.
struct RecordingReader: ItemReader {
    var inner: ArrayItemReader<Int>
    let reads: Recorder<Int>

    init(_ items: [Int], reads: Recorder<Int>) {
        inner = ArrayItemReader(items)
        self.reads = reads
    }

    mutating func open(_ context: ExecutionContext) async throws { try await inner.open(context) }
    func update(_ context: inout ExecutionContext) { inner.update(&context) }
    mutating func read() async throws -> Int? {
        let item = try await inner.read()
        if let item { reads.append(item) }
        return item
    }
}

/// A chunk job over 1...items: fails the first time it processes `failAt`.
func countingJob(
    _ name: String, items: Int, chunkSize: Int, failAt: Int? = nil, reads: Recorder<Int>, written: Recorder<Int>,
    gate: (item: Int, gate: Gate)? = nil
) -> Job {
    let failOnce = FailOnce()
    return Job(name) {
        ChunkStep(
            "count", chunkSize: chunkSize,
            reader: { _ in RecordingReader(Array(1...items), reads: reads) },
            processor: { (item: Int) -> Int? in
                if item == failAt, failOnce.shouldFail("\(item)") { throw Boom(description: "failed at \(item)") }
                if let gate, gate.item == item { await gate.gate.wait() }
                return item % 10 == 0 ? nil : item  // every tenth item is filtered
            },
            writer: { _ in ClosureItemWriter<Int> { written.append(contentsOf: $0) } })
    }
}

@Suite("Chunk steps")
struct ChunkStepTests {
    @Test("reads, processes, filters and writes in chunks with exact counters")
    func counters() async throws {
        let reads = Recorder<Int>(), written = Recorder<Int>()
        let jobOperator = try makeOperator(countingJob("c", items: 95, chunkSize: 10, reads: reads, written: written))
        let execution = try await jobOperator.start("c")
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(execution.status == .completed)
        #expect(step.counters == StepCounters(read: 95, write: 86, filter: 9, commit: 10, rollback: 0))
        #expect(written.all == (1...95).filter { $0 % 10 != 0 })
        #expect(step.context["reader.index"] == 95)
    }

    @Test("a failure in chunk k rolls it back; the restart resumes at chunk k, nothing read or written twice")
    func restartAfterFailure() async throws {
        let reads = Recorder<Int>(), written = Recorder<Int>()
        let job = countingJob("c", items: 100, chunkSize: 10, failAt: 45, reads: reads, written: written)
        let jobOperator = try makeOperator(job)
        let failed = try await jobOperator.start("c", params: #"{"run":1}"#)
        #expect(failed.status == .failed)
        #expect(failed.exitMessage.contains("failed at 45"))
        let failedStep = try #require(try await jobOperator.execution(failed.id).steps.first)
        #expect(failedStep.status == .failed)
        #expect(failedStep.counters.commit == 4)
        #expect(failedStep.counters.read == 40)
        #expect(failedStep.counters.rollback == 1)
        #expect(written.all == (1...40).filter { $0 % 10 != 0 })
        #expect(reads.all == Array(1...45), "each item is processed as it is read; reading stops at the failure")

        reads.removeAll()
        let restarted = try await jobOperator.restart(.executionId(failed.id))
        #expect(restarted.status == .completed)
        #expect(reads.all == Array(41...100), "restart reads from chunk 5 on")
        #expect(written.all == (1...100).filter { $0 % 10 != 0 }, "each item written exactly once")
        let step = try #require(try await jobOperator.execution(restarted.id).steps.first)
        #expect(step.counters.read == 60)
        #expect(step.counters.commit == 6)
    }

    @Test("a stop during a chunk step ends STOPPED after the current chunk, and a restart completes it")
    func stopAtChunkBoundary() async throws {
        let reads = Recorder<Int>(), written = Recorder<Int>()
        let gate = Gate()
        let job = countingJob("c", items: 100, chunkSize: 10, reads: reads, written: written, gate: (25, gate))
        let jobOperator = try makeOperator(job)
        let id = try await jobOperator.startAsync("c")
        #expect(try await eventually { reads.all.count == 25 }, "chunk 3 in progress, held at item 25")
        let stopping = try await jobOperator.stop(.executionId(id))
        #expect(stopping.status == .stopping)
        gate.open()
        let stopped = try await jobOperator.wait(for: id)
        #expect(stopped.status == .stopped)
        let step = try #require(try await jobOperator.execution(id).steps.first)
        #expect(step.status == .stopped)
        #expect(step.counters.commit == 3, "the chunk in progress commits, no more")
        #expect(written.all == (1...30).filter { $0 % 10 != 0 })

        let restarted = try await jobOperator.restart("c")
        #expect(restarted.status == .completed)
        #expect(written.all == (1...100).filter { $0 % 10 != 0 })
    }

    @Test("a writer failure rolls the chunk back and records the rollback")
    func writerFailure() async throws {
        let failOnce = FailOnce()
        let stored = Recorder<[Int]>()
        let job = Job("w") {
            ChunkStep(
                "write", chunkSize: 5, reader: { _ in ArrayItemReader(Array(1...20)) },
                writer: { _ in
                    ClosureItemWriter<Int> { items in
                        if items.contains(12), failOnce.shouldFail("w") { throw Boom(description: "disk full") }
                        stored.append(items)
                    }
                })
        }
        let jobOperator = try makeOperator(job)
        let failed = try await jobOperator.start("w")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage == "step 'write' failed: disk full")
        let restarted = try await jobOperator.restart("w")
        #expect(restarted.status == .completed)
        #expect(stored.all == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16, 17, 18, 19, 20]])
    }
}
