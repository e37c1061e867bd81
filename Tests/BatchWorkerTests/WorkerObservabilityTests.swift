import Batch
import BatchRabbitMQ
import BatchTestKit
import BatchWorker
import InMemoryTracing
import Logging
import MetricsTestKit
import ServiceLifecycle
import Synchronization
import Testing
import Tracing

/// The worker's own metrics, its command spans and its progress events, on the in-memory twins.
@Suite("Worker observability", .timeLimit(.minutes(1)))
struct WorkerObservabilityTests {
    /// An event sink that keeps progress reports too.
    final class ProgressSink: EventSink {
        private let progress = Mutex<[StepProgress]>([])
        var reports: [StepProgress] { progress.withLock { $0 } }
        func publish(_ event: Event) async throws {}
        func broadcast(_ command: Command) async throws {}
        func publish(_ progress: StepProgress) async throws { self.progress.withLock { $0.append(progress) } }
    }

    /// `slow`: 60 numbers in chunks of 10, 20 ms per chunk.
    static let slow = Job("slow") {
        ChunkStep(
            "load", chunkSize: 10,
            reader: { _ in ArrayItemReader(Array(1...60)) },
            processor: { (n: Int) -> Int? in
                if n % 10 == 0 { try await Task.sleep(for: .milliseconds(20)) }
                return n
            },
            writer: { _ in ClosureItemWriter<Int> { _ in } })
    }

    @Test("commands are counted by action and outcome, each in a span the job's span hangs from; progress is published")
    func commandsSpansProgress() async throws {
        let metrics = TestMetrics()
        let tracer = InMemoryTracer()
        let repository = InMemoryJobRepository()
        let commands = InMemoryCommandSource()
        let sink = ProgressSink()
        let logger = Logger(label: "worker-observability", factory: { _ in SwiftLogNoOpLogHandler() })
        let worker = Worker(
            registry: try JobRegistry([Self.slow]), repository: repository,
            workers: InMemoryWorkerRegistry(repository: repository), commands: commands, events: sink,
            configuration: WorkerConfiguration(
                workerId: "observed", concurrency: 3, heartbeatInterval: .milliseconds(50), migrate: false,
                observability: BatchObservability(
                    metrics: metrics, tracer: tracer, progressInterval: .milliseconds(30))),
            logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: worker.services, logger: logger))
        let running = Task { try await group.run() }

        #expect(try metrics.expectGauge(BatchMetricName.workerCapacity).lastValue == 3)
        // The start carries its sender's trace context, as a command published inside a span does.
        let sender = tracer.startSpan("swiftbatch start")
        let senderContext = try #require(sender.context.inMemorySpanContext)
        let started = commands.enqueue(.start("slow", parameters: ["n": 1]), traceContext: sender.context)
        sender.end()
        let unknown = commands.enqueue(.start("missing", parameters: [:]))
        let garbage = commands.enqueue(body: "not a command")
        try await eventually("the three commands settled", timeout: .seconds(10)) {
            started.settlement != nil && unknown.settlement != nil && garbage.settlement != nil
        }
        let id = try WorkerHarness.accepted(started)
        try await eventually("the job ended", timeout: .seconds(10)) {
            try await repository.jobExecution(id: id)?.status == .completed
        }
        try await eventually("running jobs back to 0", timeout: .seconds(30)) {
            (try? metrics.expectGauge(BatchMetricName.workerRunningJobs).lastValue) == 0
        }
        await group.triggerGracefulShutdown()
        try await running.value

        func commandCount(_ command: String, _ outcome: String) -> Int64 {
            metrics.counterTotal(
                label: BatchMetricName.commands, dimensions: [("command", command), ("outcome", outcome)])
        }
        #expect(commandCount("start", "accepted") == 1)
        #expect(commandCount("start", "dead_lettered") == 1, "an unknown job can never start")
        #expect(commandCount("invalid", "dead_lettered") == 1)
        #expect(try metrics.expectGauge(BatchMetricName.workerRunningJobs).values.contains(1))

        let spans = tracer.finishedSpans
        let commandSpans = spans.filter { $0.operationName == BatchSpan.command }
        #expect(commandSpans.count == 3)
        let accepted = try #require(
            commandSpans.first { $0.attributes.get(BatchSpan.commandOutcome) == .string("accepted") })
        #expect(accepted.attributes.get(BatchSpan.commandAction) == .string("start"))
        #expect(accepted.attributes.get(BatchSpan.executionId) == .int64(id))
        #expect(accepted.traceID == senderContext.traceID, "the command's span continues its sender's trace")
        #expect(accepted.parentSpanID == senderContext.spanID)
        #expect(commandSpans.filter { $0.traceID == senderContext.traceID }.count == 1, "the others carry none")
        #expect(commandSpans.filter { $0.status?.code == .error }.count == 2, "dead-lettered commands are errors")
        let job = try #require(spans.first { $0.operationName == BatchSpan.job })
        #expect(job.parentSpanID == accepted.spanID, "the job's trace starts at the command that started it")

        let reports = sink.reports
        #expect(!reports.isEmpty, "progress published through the event sink")
        #expect(
            reports.allSatisfy { $0.executionId == id && $0.stepName == "load" && $0.routingKey == "progress.slow" })
    }

    @Test("partition messages are counted and traced as 'partition' commands by outcome")
    func partitionMessagesCounted() async throws {
        let metrics = TestMetrics()
        let tracer = InMemoryTracer()
        let harness = try WorkerHarness(
            jobs: [WorkerPartitionUnitTests.job(Recorder<String>())], takesPartitions: true,
            observability: BatchObservability(metrics: metrics, tracer: tracer))
        let start = harness.commands.enqueue(.start("spread", parameters: ["n": 1]))
        try await eventually("accepted") { start.settlement == .acked }
        let id = try WorkerHarness.accepted(start)
        try await eventually("the job completes") { try await harness.execution(id)?.status == .completed }
        let garbage = harness.partitions.enqueue(body: "not a partition")
        try await eventually("the bad message settled") { garbage.settlement != nil }
        if case .failure(let error) = await harness.shutDown() { throw error }

        func partitionCount(_ outcome: String) -> Int64 {
            metrics.counterTotal(
                label: BatchMetricName.commands, dimensions: [("command", "partition"), ("outcome", outcome)])
        }
        #expect(partitionCount("accepted") == 4, "each of the 4 partitions claimed once")
        #expect(partitionCount("dead_lettered") == 1)
        let partitionSpans = tracer.finishedSpans.filter {
            $0.operationName == BatchSpan.command && $0.attributes.get(BatchSpan.commandAction) == .string("partition")
        }
        #expect(partitionSpans.filter { $0.attributes.get(BatchSpan.commandOutcome) == .string("accepted") }.count == 4)
        let deadLettered = partitionSpans.filter {
            $0.attributes.get(BatchSpan.commandOutcome) == .string("dead_lettered")
        }
        #expect(deadLettered.count == 1)
        #expect(deadLettered.first?.status?.code == .error)
    }
}
