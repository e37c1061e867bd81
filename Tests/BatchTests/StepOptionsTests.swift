import Batch
import BatchTestKit
import Logging
import Testing

@Suite("Step options and contexts")
struct StepOptionsTests {
    @Test("a step marked allowStartIfComplete runs again on restart, from an empty context; others are skipped")
    func allowStartIfComplete() async throws {
        let trace = Recorder<String>()
        let fail = FailOnce()
        let job = Job("setup") {
            Step("prepare") { context in
                trace.append("prepare:\(context.stepContext.int("runs") ?? 0)")
                context.stepContext["runs"] = .int(1)
            }
            .allowStartIfComplete()
            Step("once") { _ in trace.append("once") }
            Step("work") { _ in
                trace.append("work")
                if fail.shouldFail("work") { throw Boom() }
            }
        }
        let jobOperator = try makeOperator(job)
        #expect(try await jobOperator.start("setup").status == .failed)
        #expect(try await jobOperator.restart("setup").status == .completed)
        #expect(trace.all == ["prepare:0", "once", "work", "prepare:0", "work"])
    }

    @Test("a partitioned step that runs again after completing runs all its partitions")
    func partitionsRunAgain() async throws {
        let trace = Recorder<String>()
        let fail = FailOnce()
        let job = Job("partitioned-setup") {
            PartitionStep(
                "load", partitions: 2,
                partitioner: { _, _ in ["a": ExecutionContext(), "b": ExecutionContext()] },
                step: Step("part") { context in trace.append(context.partitionName ?? "?") }
            )
            .allowStartIfComplete()
            Step("work") { _ in if fail.shouldFail("work") { throw Boom() } }
        }
        let jobOperator = try makeOperator(job)
        #expect(try await jobOperator.start("partitioned-setup").status == .failed)
        #expect(try await jobOperator.restart("partitioned-setup").status == .completed)
        #expect(trace.all.sorted() == ["a", "a", "b", "b"])
    }

    @Test("listeners get the step's context, with its logger and names")
    func listenerContext() async throws {
        let trace = Recorder<String>()
        struct Named: StepListener, SkipListener {
            let trace: Recorder<String>
            func beforeStep(_ execution: StepExecution, context: StepContext) async throws {
                trace.append("before:\(context.stepName):\(context.logger[metadataKey: "step.name"] ?? "none")")
            }
            func afterStep(_ execution: StepExecution, context: StepContext) async throws {
                trace.append("after:\(execution.status.rawValue):\(context.jobName)")
            }
        }
        let job = Job("ctx") { Step("only") { _ in } }.listener(Named(trace: trace))
        // A handler that keeps metadata (the no-op handler of `quietLogger` drops it), logging nothing below critical.
        var logger = Logger(label: "test", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .critical
        let jobOperator = JobOperator(
            registry: try JobRegistry([job]), repository: InMemoryJobRepository(), logger: logger)
        #expect(try await jobOperator.start("ctx").status == .completed)
        #expect(trace.all == ["before:only:only", "after:COMPLETED:ctx"])
    }

    @Test("reader and writer factories may be async")
    func asyncFactories() async throws {
        let written = Recorder<Int>()
        let job = Job("async-factories") {
            ChunkStep(
                "c", chunkSize: 2,
                reader: { _ in
                    try await Task.sleep(for: .milliseconds(1))
                    return ArrayItemReader([1, 2, 3])
                },
                writer: { _ in
                    await Task.yield()
                    return ClosureItemWriter<Int> { for item in $0 { written.append(item) } }
                })
        }
        #expect(try await makeOperator(job).start("async-factories").status == .completed)
        #expect(written.all == [1, 2, 3])
    }
}
