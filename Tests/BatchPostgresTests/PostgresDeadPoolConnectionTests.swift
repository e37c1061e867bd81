import Batch
import BatchPostgres
import Foundation
import Testing

/// Pooled connections whose server sessions died while they sat idle (after a database incident): the next chunk
/// must reconnect before its `BEGIN`, not fail.
@Suite(.database) struct PostgresDeadPoolConnectionTests {
    /// Terminates the server sessions of `pids` from another connection and waits until they are gone, so their
    /// goodbye has reached the pooled connections' sockets.
    static func terminate(_ pids: [Int32]) async throws {
        try await TestDatabase.withConnection { other in
            for pid in pids {
                try await other.query("SELECT pg_terminate_backend($1::int4)", [.int(Int64(pid))])
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let alive = try await other.query(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1::int4[])",
                    [.text("{" + pids.map(String.init).joined(separator: ",") + "}")]
                ).single().decode("n", as: Int.self)
                if alive == 0 { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            Issue.record("the terminated sessions did not end within 10 s")
        }
    }

    @Test func aChunkOnAPooledConnectionWhoseSessionDiedReconnectsAndCommits() async throws {
        try await TestDatabase.withRepository(poolSize: 2) { repository in
            let table = "\"\(repository.schema)\".rows"
            try await repository.pool.withConnection { connection in
                try await connection.query("CREATE TABLE \(table) (v bigint)")
            }
            let parameters = JobParameters(["n": 1])
            let job = try await repository.createJobExecution(
                jobName: "j", jobKey: parameters.instanceKey, parameters: parameters, workerId: nil)
            var step = try await repository.createStepExecution(
                StepExecution(
                    jobExecutionId: job.id, stepName: "s", startTime: job.createTime, lastUpdated: job.createTime))
            var writer = try PostgresItemWriter<Int64>(table: "\(repository.schema).rows", columns: ["v"]) {
                [.int($0)]
            }
            for round in 0..<20 {
                // Open both pooled connections, then kill their sessions while they sit idle in the pool.
                let first = try await repository.pool.lease()
                let second = try await repository.pool.lease()
                let pids = [try #require(await first.backendProcessID), try #require(await second.backendProcessID)]
                await repository.pool.release(first)
                await repository.pool.release(second)
                try await Self.terminate(pids)

                let transaction = try await repository.beginChunk()
                do {
                    try await writer.write([Int64(round)], in: transaction)
                    step.counters.commit += 1
                    step = try await transaction.commit(step)
                } catch {
                    Issue.record("round \(round): the chunk failed: \(error)")
                    throw error
                }
            }
            let count = try await repository.pool.withConnection { connection in
                try await connection.query("SELECT count(*) AS n FROM \(table)").single().decode("n", as: Int.self)
            }
            #expect(count == 20)
        }
    }

    @Test func aTransactionOnAPooledConnectionWhoseSessionDiedReconnects() async throws {
        let pool = PostgresConnectionPool(
            configuration: try TestDatabase.configuration(poolSize: 1), logger: TestDatabase.logger)
        defer { Task { await pool.shutdown() } }
        for round in 0..<20 {
            let pid = try await pool.withConnection { connection in
                try await connection.query("SELECT 1")
                return try #require(await connection.backendProcessID)
            }
            try await Self.terminate([pid])
            let value = try await pool.withConnection { connection in
                try await connection.withTransaction { connection in
                    try await connection.query("SELECT $1::int8 AS n", [.int(Int64(round))]).single().decode(
                        "n", as: Int.self)
                }
            }
            #expect(value == round)
        }
    }
}
