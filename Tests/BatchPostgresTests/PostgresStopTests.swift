import Batch
import BatchPostgres
import BatchTestKit
import Testing

@Suite(.database) struct PostgresStopTests {
    /// A stop written to the database by another process (another operator, no local signal) is seen at the next
    /// chunk boundary through the status the chunk commit reads: the step ends STOPPED within a chunk.
    @Test func aStopInTheDatabaseEndsAChunkStepAtTheNextBoundary() async throws {
        try await TestDatabase.withRepository { repository in
            let job = Job("slow") {
                ChunkStep(
                    "count", chunkSize: 10, reader: { _ in ArrayItemReader(Array(1...400)) },
                    processor: { (n: Int) -> Int? in
                        try await Task.sleep(for: .milliseconds(3))
                        return n
                    },
                    writer: { _ in ClosureItemWriter<Int> { _ in } })
            }
            let registry = try JobRegistry([job])
            let runner = JobOperator(registry: registry, repository: repository, logger: TestDatabase.logger)
            let elsewhere = JobOperator(registry: registry, repository: repository, logger: TestDatabase.logger)
            let id = try await runner.startAsync("slow")
            try await eventually("two chunks committed", timeout: .seconds(30), every: .milliseconds(10)) {
                try await repository.stepExecutions(jobExecutionId: id).first?.counters.commit ?? 0 >= 2
            }
            let stopping = try await elsewhere.stop(.executionId(id))
            #expect(stopping.status == .stopping)
            let commitsAtStop = try await repository.stepExecutions(jobExecutionId: id).first?.counters.commit ?? 0
            let stopped = try await runner.wait(for: id)
            #expect(stopped.status == .stopped)
            let step = try #require(try await repository.stepExecutions(jobExecutionId: id).first)
            #expect(step.status == .stopped)
            #expect(step.counters.commit <= commitsAtStop + 2, "stopped within a chunk of the request")
            #expect(step.counters.read < 400)
        }
    }

    /// The chunk commit reads the job execution's status and version in the same round trip, so the chunk step
    /// needs no separate status query at the boundary.
    @Test func aChunkCommitReadsTheJobStatus() async throws {
        try await TestDatabase.withRepository { repository in
            let parameters = JobParameters(["n": 1])
            var job = try await repository.createJobExecution(
                jobName: "j", jobKey: parameters.instanceKey, parameters: parameters, workerId: nil)
            job.status = .stopping
            job = try await repository.updateJobExecution(job)
            let step = try await repository.createStepExecution(
                StepExecution(
                    jobExecutionId: job.id, stepName: "s", startTime: job.createTime, lastUpdated: job.createTime))
            let transaction = try await repository.beginChunk()
            _ = try await transaction.commit(step)
            #expect(transaction.jobStatusAtCommit == ExecutionStatusSnapshot(status: .stopping, version: job.version))
        }
    }
}
