import Batch
import BatchPostgres
import Foundation
import Testing

/// Round trips to PostgreSQL per job, counted on the connection (each statement run alone, each pipeline, each
/// preparation counts one): the cost a worker pays per trivial job, whatever the history.
@Suite(.database) struct PostgresRoundTripTests {
    static let job = Job("trivial") { Step("only") { _ in } }

    /// The round trips `body` made on the repository's only connection.
    static func roundTrips(_ repository: PostgresJobRepository, _ body: () async throws -> Void) async throws -> Int {
        let before = try await repository.pool.withConnection { await $0.roundTripCount }
        try await body()
        return try await repository.pool.withConnection { await $0.roundTripCount } - before
    }

    @Test func aTrivialJobCostsTwoRoundTripsFromLaunchToCompletedWhateverTheHistory() async throws {
        try await TestDatabase.withRepository(poolSize: 1) { repository in
            let jobOperator = JobOperator(
                registry: try JobRegistry([Self.job]), repository: repository, logger: TestDatabase.logger)
            func run(_ n: Int64) async throws {
                let execution = try await jobOperator.start("trivial", parameters: JobParameters(["n": .int(n)]))
                #expect(execution.status == .completed, "run \(n): \(execution.exitMessage)")
            }
            try await run(0)  // prepares the statements on the connection
            let fresh = try await Self.roundTrips(repository) { try await run(1) }

            // History: 1,000 other instances of the job with an execution each, and an instance with 1,000 FAILED
            // executions, each with a FAILED execution of the step.
            let schema = "\"\(repository.schema)\""
            try await repository.pool.withConnection { connection in
                try await connection.query(
                    """
                    WITH instances AS (
                        INSERT INTO \(schema).job_instances (job_name, job_key)
                        SELECT 'trivial', 'other-' || n FROM generate_series(1, 1000) n RETURNING id)
                    INSERT INTO \(schema).job_executions (instance_id, job_name, status)
                    SELECT id, 'trivial', 'COMPLETED' FROM instances
                    """)
            }
            let failing = JobParameters(["n": 2])
            let failed = try await repository.createJobExecution(
                jobName: "trivial", jobKey: failing.instanceKey, parameters: failing, workerId: nil)
            try await repository.pool.withConnection { connection in
                try await connection.query(
                    """
                    WITH executions AS (
                        INSERT INTO \(schema).job_executions (instance_id, job_name, status)
                        SELECT $1, 'trivial', 'FAILED' FROM generate_series(1, 999) RETURNING id, instance_id)
                    INSERT INTO \(schema).step_executions (job_execution_id, job_instance_id, step_name, status)
                    SELECT id, instance_id, 'only', 'FAILED' FROM executions
                    """, [.int(failed.instanceId)])
                try await connection.query(
                    "UPDATE \(schema).job_executions SET status = 'FAILED' WHERE id = $1", [.int(failed.id)])
                // The last execution must stay the newest: give the first one a higher id.
                try await connection.query(
                    """
                    UPDATE \(schema).job_executions SET id = nextval(pg_get_serial_sequence($1, 'id'))
                     WHERE id = $2
                    """, [.text("\(schema).job_executions"), .int(failed.id)])
                try await connection.query("ANALYZE \(schema).job_executions")
                try await connection.query("ANALYZE \(schema).step_executions")
            }
            let restarted = try await Self.roundTrips(repository) { try await run(2) }
            let afterOthers = try await Self.roundTrips(repository) { try await run(3) }

            #expect(fresh == 2, "the launch with STARTED and the step's start, the step's end with COMPLETED: \(fresh)")
            #expect(restarted == fresh, "1,000 earlier executions of the instance and its step cost nothing more")
            #expect(afterOthers == fresh, "1,000 other instances of the job cost nothing more")
            let steps = try await repository.pool.withConnection { connection in
                try await connection.query(
                    """
                    SELECT count(*) AS n FROM \(schema).step_executions s
                      JOIN \(schema).job_executions e ON e.id = s.job_execution_id
                     WHERE e.instance_id = $1 AND s.status = 'COMPLETED'
                    """, [.int(failed.instanceId)]
                ).single().decode("n", as: Int64.self)
            }
            #expect(steps == 1, "the restarted instance ran its step once more, to COMPLETED")
        }
    }

    @Test func aLaunchIsOneRoundTripWhateverTheHistory() async throws {
        try await TestDatabase.withRepository(poolSize: 1) { repository in
            let parameters = JobParameters(["date": "2026-11-25"])
            func launch() async throws -> JobExecution {
                try await repository.createJobExecution(
                    jobName: "job", jobKey: parameters.instanceKey, parameters: parameters, workerId: nil)
            }
            func fail(_ execution: JobExecution) async throws {
                var execution = execution
                execution.status = .failed
                _ = try await repository.updateJobExecution(execution)
            }
            var execution = try await launch()  // prepares the statement
            try await fail(execution)
            let withOne = try await Self.roundTrips(repository) { execution = try await launch() }
            try await fail(execution)
            for _ in 0..<100 {
                execution = try await launch()
                try await fail(execution)
            }
            let withMany = try await Self.roundTrips(repository) { execution = try await launch() }
            #expect(withOne == 1, "BEGIN, the launch statement and COMMIT in one pipeline")
            #expect(withMany == withOne, "102 earlier executions cost the same as one")
            let refused = try await Self.roundTrips(repository) {
                await #expect(throws: BatchError.self) { _ = try await launch() }
            }
            #expect(refused == 1, "a refusal costs one round trip too")
        }
    }
}
