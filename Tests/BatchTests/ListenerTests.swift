import Batch
import BatchTestKit
import Testing

/// Records every callback it gets, with its own name.
struct TraceListener: JobListener, StepListener, ChunkListener, PartitionListener {
    let name: String
    let trace: Recorder<String>
    var failOn: String? = nil

    private func record(_ event: String) throws {
        trace.append("\(name).\(event)")
        if event == failOn { throw Boom(description: "\(name) refuses \(event)") }
    }

    func beforeJob(_ execution: JobExecution) async throws { try record("beforeJob") }
    func afterJob(_ execution: JobExecution) async throws { try record("afterJob:\(execution.status.rawValue)") }
    func beforeStep(_ execution: StepExecution) async throws { try record("beforeStep:\(execution.stepName)") }
    func afterStep(_ execution: StepExecution) async throws {
        try record("afterStep:\(execution.stepName):\(execution.status.rawValue)")
    }
    func beforeChunk(_ context: StepContext) async throws { try record("beforeChunk") }
    func afterChunk(_ context: StepContext) async throws { try record("afterChunk") }
    func onChunkError(_ error: any Error, context: StepContext) async { try? record("onChunkError") }
    func beforePartition(_ execution: StepExecution) async throws {
        try record("beforePartition:\(execution.stepName)")
    }
    func afterPartition(_ execution: StepExecution) async throws { try record("afterPartition:\(execution.stepName)") }
    func onPartitionError(_ error: any Error, execution: StepExecution) async { try? record("onPartitionError") }
}

@Suite("Listeners")
struct ListenerTests {
    static func job(_ listeners: TraceListener...) -> Job {
        var job = Job("listened") {
            Step("tasklet") { _ in }
            ChunkStep(
                "chunks", chunkSize: 2, reader: { _ in ArrayItemReader([1, 2, 3]) },
                writer: { _ in ClosureItemWriter<Int> { _ in } })
        }
        for listener in listeners { job = job.listener(listener) }
        return job
    }

    @Test("callbacks come in a defined order: before in the order added, after in reverse")
    func order() async throws {
        let trace = Recorder<String>()
        let job = Self.job(TraceListener(name: "A", trace: trace), TraceListener(name: "B", trace: trace))
        let execution = try await makeOperator(job).start("listened")
        #expect(execution.status == .completed)
        #expect(
            trace.all == [
                "A.beforeJob", "B.beforeJob",
                "A.beforeStep:tasklet", "B.beforeStep:tasklet",
                "B.afterStep:tasklet:COMPLETED", "A.afterStep:tasklet:COMPLETED",
                "A.beforeStep:chunks", "B.beforeStep:chunks",
                "A.beforeChunk", "B.beforeChunk", "B.afterChunk", "A.afterChunk",
                "A.beforeChunk", "B.beforeChunk", "B.afterChunk", "A.afterChunk",
                "B.afterStep:chunks:COMPLETED", "A.afterStep:chunks:COMPLETED",
                "B.afterJob:COMPLETED", "A.afterJob:COMPLETED",
            ])
    }

    @Test("a beforeJob error fails the job before any step runs")
    func beforeJobFails() async throws {
        let trace = Recorder<String>()
        let jobOperator = try makeOperator(Self.job(TraceListener(name: "A", trace: trace, failOn: "beforeJob")))
        let execution = try await jobOperator.start("listened")
        #expect(execution.status == .failed)
        #expect(execution.exitMessage.contains("A refuses beforeJob"))
        #expect(try await jobOperator.execution(execution.id).steps.isEmpty)
        #expect(trace.all == ["A.beforeJob", "A.afterJob:FAILED"])
    }

    @Test("an afterStep error fails the step and the job")
    func afterStepFails() async throws {
        let trace = Recorder<String>()
        let listener = TraceListener(name: "A", trace: trace, failOn: "afterStep:tasklet:COMPLETED")
        let jobOperator = try makeOperator(Self.job(listener))
        let execution = try await jobOperator.start("listened")
        #expect(execution.status == .failed)
        let steps = try await jobOperator.execution(execution.id).steps
        #expect(steps.map(\.status) == [.failed])
        #expect(steps.first?.exitMessage.contains("afterStep") == true)
    }

    @Test("a beforeChunk error rolls the chunk back and fails the step")
    func chunkListenerFails() async throws {
        let trace = Recorder<String>()
        let jobOperator = try makeOperator(Self.job(TraceListener(name: "A", trace: trace, failOn: "beforeChunk")))
        let execution = try await jobOperator.start("listened")
        #expect(execution.status == .failed)
        let chunkStep = try #require(try await jobOperator.execution(execution.id).steps.last)
        #expect(chunkStep.counters.rollback == 1)
        #expect(chunkStep.counters.commit == 0)
        #expect(trace.all.contains("A.onChunkError"))
    }

    @Test("an afterChunk error fails the step, but the chunk it follows stays committed: no rollback, no onChunkError")
    func afterChunkFails() async throws {
        let trace = Recorder<String>()
        let jobOperator = try makeOperator(Self.job(TraceListener(name: "A", trace: trace, failOn: "afterChunk")))
        let execution = try await jobOperator.start("listened")
        #expect(execution.status == .failed)
        let chunkStep = try #require(try await jobOperator.execution(execution.id).steps.last)
        #expect(chunkStep.counters.commit == 1)
        #expect(chunkStep.counters.write == 2)
        #expect(chunkStep.counters.rollback == 0)
        #expect(!trace.all.contains("A.onChunkError"))
        #expect(chunkStep.exitMessage.contains("afterChunk"), "\(chunkStep.exitMessage)")
    }

    @Test("an afterJob error fails a job whose steps completed")
    func afterJobFails() async throws {
        let trace = Recorder<String>()
        let jobOperator = try makeOperator(
            Self.job(TraceListener(name: "A", trace: trace, failOn: "afterJob:COMPLETED")))
        let execution = try await jobOperator.start("listened")
        #expect(execution.status == .failed)
        #expect(execution.exitMessage.contains("afterJob"))
    }

    @Test("partition listeners wrap each partition; an error there fails the partition")
    func partitionListeners() async throws {
        let trace = Recorder<String>()
        let job = Job("parts") {
            PartitionStep(
                "p", partitions: 2, maxConcurrency: 1,
                partitioner: { _, _ in ["a": ExecutionContext(), "b": ExecutionContext()] },
                step: Step("work") { _ in })
        }.listener(TraceListener(name: "L", trace: trace, failOn: "beforePartition:p:b"))
        let execution = try await makeOperator(job).start("parts")
        #expect(execution.status == .failed)
        let partitionEvents = trace.all.filter { $0.contains("Partition") }
        #expect(
            partitionEvents == [
                "L.beforePartition:p:a", "L.afterPartition:p:a", "L.beforePartition:p:b", "L.onPartitionError",
                "L.afterPartition:p:b",
            ])
    }
}
