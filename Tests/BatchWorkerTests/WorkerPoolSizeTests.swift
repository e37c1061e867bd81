import BatchPostgres
import Testing

@testable import BatchWorker

/// A worker's batch database pool grows with its concurrency unless `BATCH_DATABASE_POOL_SIZE` sets it.
@Suite("Worker pool size")
struct WorkerPoolSizeTests {
    @Test func aQuarterOfTheConcurrencyFromFourToSixteen() {
        #expect(WorkerConfiguration.defaultPoolSize(concurrency: WorkerConfiguration.defaultConcurrency) == 8)
        #expect(WorkerConfiguration.defaultPoolSize(concurrency: 1) == 4)
        #expect(WorkerConfiguration.defaultPoolSize(concurrency: 20) == 5)
        #expect(WorkerConfiguration.defaultPoolSize(concurrency: 64) == 16)
        #expect(WorkerConfiguration.defaultPoolSize(concurrency: 1_024) == 16)
    }

    @Test func theEnvironmentWinsOverTheWorkersDefault() throws {
        #expect(try ConnectionOptions.poolSize(8, in: [:]) == 8)
        #expect(try ConnectionOptions.poolSize(nil, in: [:]) == nil)
        #expect(try ConnectionOptions.poolSize(8, in: ["BATCH_DATABASE_POOL_SIZE": "3"]) == 3)
        #expect(try ConnectionOptions.poolSize(8, in: ["BATCH_DATABASE_POOL_SIZE": ""]) == 8)
        #expect(throws: PostgresError.self) { try ConnectionOptions.poolSize(8, in: ["BATCH_DATABASE_POOL_SIZE": "0"]) }
    }
}
