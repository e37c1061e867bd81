import Batch
import BatchPostgres
import Logging

/// Counts the statements one launch sends, with different amounts of history on the instance.
enum StatementsPerLaunch {
    static func measure(
        configuration: PostgresConfiguration, logger: Logger
    ) async throws -> (new: Int, one: Int, thousand: Int) {
        var configuration = configuration
        configuration.pool.size = 1  // one connection: its counter sees every statement
        let repository = try PostgresJobRepository(configuration: configuration, logger: logger)
        defer { Task { await repository.shutdown() } }
        let parameters = JobParameters(["benchmark": "launch"])

        func counted(_ body: () async throws -> Void) async throws -> Int {
            let before = try await repository.pool.withConnection { await $0.statementCount }
            try await body()
            return try await repository.pool.withConnection { await $0.statementCount } - before
        }
        func launch() async throws -> JobExecution {
            try await repository.createJobExecution(
                jobName: "launch", jobKey: parameters.instanceKey, parameters: parameters, workerId: nil)
        }
        func fail(_ execution: JobExecution) async throws {
            var execution = execution
            execution.status = .failed
            _ = try await repository.updateJobExecution(execution)
        }

        var execution: JobExecution!
        let new = try await counted { execution = try await launch() }
        try await fail(execution)
        let one = try await counted { execution = try await launch() }
        try await fail(execution)
        for _ in 0..<998 {
            execution = try await launch()
            try await fail(execution)
        }
        let history = try await repository.jobExecutions(jobName: "launch", limit: 2_000).count
        precondition(history == 1_000, "expected 1,000 earlier executions, found \(history)")
        let thousand = try await counted { execution = try await launch() }
        return (new, one, thousand)
    }
}
