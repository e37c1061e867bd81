import Batch
import BatchPostgres
import Testing

@Suite(.database) struct PostgresOrphanTests {
    /// An execution recorded for a live worker that never launched it (its start's answer was lost) is failed by
    /// that worker's own sweep once it is older than the grace; executions it runs, young ones, finished ones and
    /// other workers' are left alone.
    @Test func orphanedExecutionsOfALiveWorkerAreFailed() async throws {
        try await TestDatabase.withRepository { repository in
            func launch(_ n: Int64, worker: String) async throws -> JobExecution {
                let parameters = JobParameters(["n": .int(n)])
                return try await repository.createJobExecution(
                    jobName: "orphans", jobKey: parameters.instanceKey, parameters: parameters, workerId: worker)
            }
            let orphan = try await launch(1, worker: "me")
            let running = try await launch(2, worker: "me")
            var finished = try await launch(3, worker: "me")
            finished.status = .completed
            finished = try await repository.updateJobExecution(finished)
            let others = try await launch(4, worker: "someone-else")
            // Margins wide enough for a loaded machine: the old ones are 3 s old, the young one well under the 2 s grace.
            try await Task.sleep(for: .seconds(3))
            let young = try await launch(5, worker: "me")

            let failed = try await repository.failOrphanedExecutions(
                workerId: "me", running: [running.id], grace: .seconds(2))
            #expect(failed.map(\.id) == [orphan.id])
            #expect(failed.first?.status == .failed)
            #expect(failed.first?.exitMessage.contains("never launched") == true)
            for (execution, status) in [
                (running, BatchStatus.starting), (finished, .completed), (others, .starting), (young, .starting),
            ] {
                #expect(try await repository.jobExecutionStatus(id: execution.id)?.status == status)
            }
            // The orphan's instance can run again.
            let again = try await launch(1, worker: "me")
            #expect(again.instanceId == orphan.instanceId)
        }
    }
}
