import Batch
import BatchTestKit
import InMemoryTracing
import Testing
import Tracing

@Suite("Engine tracing")
struct EngineTracingTests {
    private func int(_ span: FinishedInMemorySpan, _ key: String) -> Int64? {
        switch span.attributes.get(key) {
        case .int64(let value): value
        case .int32(let value): Int64(value)
        default: nil
        }
    }

    private func string(_ span: FinishedInMemorySpan, _ key: String) -> String? {
        if case .string(let value) = span.attributes.get(key) { return value }
        return nil
    }

    @Test("a job with a partition step: job span, step span, a span per partition under it, chunk spans under those")
    func spanTree() async throws {
        let tracer = InMemoryTracer()
        let jobOperator = try ObservabilityJobs.makeOperator(
            ObservabilityJobs.sums(), BatchObservability(tracer: tracer))
        let execution = try await jobOperator.start("sums")
        #expect(execution.status == .completed)
        let spans = tracer.finishedSpans

        let jobs = spans.filter { $0.operationName == BatchSpan.job }
        let job = try #require(jobs.first)
        #expect(jobs.count == 1)
        #expect(job.parentSpanID == nil)
        #expect(int(job, BatchSpan.executionId) == execution.id)
        #expect(string(job, BatchSpan.jobName) == "sums")
        #expect(string(job, BatchSpan.status) == "COMPLETED")

        let steps = spans.filter { $0.operationName == BatchSpan.step }
        let partitioned = try #require(steps.first { string($0, BatchSpan.stepName) == "sum" })
        #expect(partitioned.parentSpanID == job.spanID)
        let partitions = steps.filter { $0.parentSpanID == partitioned.spanID }
        #expect(
            partitions.compactMap { string($0, BatchSpan.stepName) }.sorted() == [
                "sum:p0", "sum:p1", "sum:p2", "sum:p3",
            ])
        #expect(steps.count == 5)

        let stored = try await jobOperator.execution(execution.id).steps
        for partition in partitions {
            let name = try #require(string(partition, BatchSpan.stepName))
            #expect(int(partition, BatchSpan.stepExecutionId) == stored.first { $0.stepName == name }?.id)
            #expect(int(partition, BatchSpan.executionId) == execution.id)
            let chunks = spans.filter { $0.operationName == BatchSpan.chunk && $0.parentSpanID == partition.spanID }
            // 100 items in chunks of 25: four chunks, then the read that finds the end.
            #expect(chunks.count == 5, "chunks of \(name)")
            #expect(chunks.allSatisfy { $0.traceID == job.traceID })
        }
        #expect(spans.filter { $0.operationName == BatchSpan.chunk }.count == 20)
    }

    /// Fails every `afterChunk`.
    struct FailingAfterChunk: ChunkListener {
        func afterChunk(_ context: StepContext) async throws { throw Boom(description: "after chunk") }
    }

    @Test("an afterChunk error ends the committed chunk's span with the error")
    func afterChunkErrorEndsTheSpan() async throws {
        let tracer = InMemoryTracer()
        let job = Job("listened") {
            ChunkStep(
                "chunks", chunkSize: 2, reader: { _ in ArrayItemReader([1, 2, 3]) },
                writer: { _ in ClosureItemWriter<Int> { _ in } })
        }.listener(FailingAfterChunk())
        let jobOperator = try ObservabilityJobs.makeOperator(job, BatchObservability(tracer: tracer))
        #expect(try await jobOperator.start("listened").status == .failed)
        let chunk = try #require(tracer.finishedSpans.first { $0.operationName == BatchSpan.chunk })
        #expect(chunk.status?.code == .error)
        let recorded = try #require(chunk.errors.first)
        #expect("\(recorded.error)".contains("after chunk"))
    }

    @Test("errors are recorded on the chunk, the partition, the step and the job")
    func errorsRecorded() async throws {
        let tracer = InMemoryTracer()
        let jobOperator = try ObservabilityJobs.makeOperator(
            ObservabilityJobs.sums(failing: "p1"), BatchObservability(tracer: tracer))
        let execution = try await jobOperator.start("sums")
        #expect(execution.status == .failed)
        let spans = tracer.finishedSpans
        let failedChunk = try #require(spans.first { $0.operationName == BatchSpan.chunk && !$0.errors.isEmpty })
        #expect(failedChunk.status?.code == .error)
        #expect("\(failedChunk.errors[0].error)".contains("bad chunk"))
        let partition = try #require(spans.first { string($0, BatchSpan.stepName) == "sum:p1" })
        #expect(partition.spanID == failedChunk.parentSpanID)
        #expect(partition.status?.code == .error)
        #expect(string(partition, BatchSpan.status) == "FAILED")
        #expect(spans.first { string($0, BatchSpan.stepName) == "sum" }?.status?.code == .error)
        let job = try #require(spans.first { $0.operationName == BatchSpan.job })
        #expect(job.status?.code == .error)
        #expect(string(job, BatchSpan.status) == "FAILED")
        #expect(spans.first { string($0, BatchSpan.stepName) == "sum:p0" }?.status == nil, "p0 completed")
    }
}
