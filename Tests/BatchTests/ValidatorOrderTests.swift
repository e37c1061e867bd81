import Batch
import BatchTestKit
import Testing

/// A start's parameter checks — the job's validators and the steps' own (a chunk size read from the parameters) —
/// all run before the instance or the execution is stored.
@Suite("Validators run before anything is stored")
struct ValidatorOrderTests {
    static func countJob() -> Job {
        Job("count") {
            ChunkStep(
                "count", chunkSize: 100, reader: { _ in ArrayItemReader(Array(1...10)) },
                writer: { _ in ClosureItemWriter<Int> { _ in } }
            )
            .chunkSize { try $0.parameters.int("chunkSize", default: 100) }
        }
        .nonIdentifying("chunkSize")
    }

    static func partitionedCountJob() -> Job {
        Job("partitioned") {
            PartitionStep(
                "split", partitions: 2, partitioner: { _, _ in ["a": ExecutionContext(), "b": ExecutionContext()] },
                step: countJob().steps[0])
        }
    }

    /// Whether the repository holds any instance or execution of `job`.
    static func stored(_ jobOperator: JobOperator, _ job: String) async throws -> Bool {
        let instance = try await jobOperator.repository.lastJobInstance(jobName: job)
        let executions = try await jobOperator.repository.jobExecutions(jobName: job, limit: 10)
        return instance != nil || !executions.isEmpty
    }

    @Test("a chunk size of 0 from the parameters refuses the start and stores nothing", arguments: [0, -1, Int.min])
    func chunkSizeZero(size: Int) async throws {
        let jobOperator = try makeOperator(Self.countJob())
        let error = await #expect(throws: BatchError.self) {
            try await jobOperator.startAsync("count", parameters: JobParameters(["chunkSize": .int(Int64(size))]))
        }
        #expect(error?.code == .invalidParameters)
        #expect(error?.message.contains("chunk size") == true)
        #expect(try await Self.stored(jobOperator, "count") == false)
    }

    @Test("a chunk size that is not an integer refuses the start and stores nothing")
    func chunkSizeNotInteger() async throws {
        let jobOperator = try makeOperator(Self.countJob())
        let error = await #expect(throws: BatchError.self) {
            try await jobOperator.startAsync("count", parameters: JobParameters(["chunkSize": .double(1e300)]))
        }
        #expect(error?.code == .invalidParameters)
        #expect(error?.message.contains("chunkSize") == true)
        #expect(try await Self.stored(jobOperator, "count") == false)
    }

    @Test("a partitioned step checks its inner chunk step's size before anything is stored")
    func partitionedChunkSize() async throws {
        let jobOperator = try makeOperator(Self.partitionedCountJob())
        let error = await #expect(throws: BatchError.self) {
            try await jobOperator.startAsync("partitioned", parameters: JobParameters(["chunkSize": 0]))
        }
        #expect(error?.code == .invalidParameters)
        #expect(try await Self.stored(jobOperator, "partitioned") == false)
    }

    @Test("a valid chunk size from the parameters runs")
    func chunkSizeValid() async throws {
        let jobOperator = try makeOperator(Self.countJob())
        let execution = try await jobOperator.start("count", parameters: JobParameters(["chunkSize": 3]))
        #expect(execution.status == .completed)
        let steps = try await jobOperator.repository.stepExecutions(jobExecutionId: execution.id)
        #expect(steps.first?.counters.commit == 4)
    }

    @Test("a validator that refuses stores nothing, and runs before the steps' checks")
    func validatorRefuses() async throws {
        let job = Self.countJob().validator { _ in throw BatchError(.invalidParameters, "no, thanks") }
        let jobOperator = try makeOperator(job)
        let error = await #expect(throws: BatchError.self) {
            try await jobOperator.startAsync("count", parameters: JobParameters(["chunkSize": 0]))
        }
        #expect(error?.code == .invalidParameters)
        #expect(error?.message == "no, thanks")
        #expect(try await Self.stored(jobOperator, "count") == false)
    }

    @Test("a chunk size that is huge does not trap when the chunk is set up")
    func chunkSizeHuge() async throws {
        let jobOperator = try makeOperator(Self.countJob())
        let execution = try await jobOperator.start("count", parameters: JobParameters(["chunkSize": .int(.max)]))
        #expect(execution.status == .completed)
    }
}
