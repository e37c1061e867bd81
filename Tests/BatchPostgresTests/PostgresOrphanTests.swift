import Batch
import BatchPostgres
import Foundation
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

    /// A remote partition recorded as claimed by a live worker that does not run it (the claim's answer was lost, or
    /// its end could not be stored) is failed by that worker's sweep once claimed longer ago than the grace, so its
    /// manager stops waiting; partitions it runs, young claims, waiting ones and other workers' are left alone.
    @Test func orphanedPartitionsOfALiveWorkerAreFailed() async throws {
        try await TestDatabase.withRepository { repository in
            let parameters = JobParameters(["n": .int(1)])
            var job = try await repository.createJobExecution(
                jobName: "orphans", jobKey: parameters.instanceKey, parameters: parameters, workerId: "manager")
            job.status = .started
            job = try await repository.updateJobExecution(job)
            let now = Date()
            let created = try await repository.createStepExecutions(
                ["orphan", "running", "others", "waiting", "young"].map {
                    StepExecution(jobExecutionId: job.id, stepName: "load:\($0)", startTime: now, lastUpdated: now)
                })
            for (index, worker) in ["me", "me", "someone-else"].enumerated() {
                _ = try await repository.claimPartition(stepExecutionId: created[index].id, workerId: worker)
            }
            // An orphan of a job being stopped ends STOPPED, as it would have at its next chunk.
            let otherParameters = JobParameters(["n": .int(2)])
            var stopping = try await repository.createJobExecution(
                jobName: "orphans", jobKey: otherParameters.instanceKey, parameters: otherParameters,
                workerId: "manager")
            stopping.status = .started
            stopping = try await repository.updateJobExecution(stopping)
            let stoppingOrphan = try await repository.createStepExecutions([
                StepExecution(jobExecutionId: stopping.id, stepName: "load:x", startTime: now, lastUpdated: now)
            ])[0]
            _ = try await repository.claimPartition(stepExecutionId: stoppingOrphan.id, workerId: "me")
            stopping.status = .stopping
            stopping = try await repository.updateJobExecution(stopping)
            try await Task.sleep(for: .seconds(3))
            _ = try await repository.claimPartition(stepExecutionId: created[4].id, workerId: "me")

            let failed = try await repository.failOrphanedPartitions(
                workerId: "me", running: [created[1].id], grace: .seconds(2))
            #expect(Set(failed.map(\.id)) == [created[0].id, stoppingOrphan.id])
            let orphan = try #require(failed.first { $0.id == created[0].id })
            #expect(orphan.status == .failed && orphan.endTime != nil)
            #expect(failed.first { $0.id == stoppingOrphan.id }?.status == .stopped, "its job is stopping")
            #expect(orphan.exitMessage.contains("was not running this partition"))
            for (index, status) in [(1, BatchStatus.started), (2, .started), (3, .starting), (4, .started)] {
                #expect(try await repository.stepExecution(id: created[index].id)?.status == status, "\(index)")
            }
            #expect(try await repository.jobExecutionStatus(id: job.id)?.status == .started, "the job is its manager's")
        }
    }

    @Test("a column added by a later migration does not break the prepared orphan sweep (no `*` in its result)")
    func aNewColumnKeepsThePreparedSweepWorking() async throws {
        try await TestDatabase.withRepository(poolSize: 1) { repository in
            // Prepared on the pool's only connection, then the table gains a column, as a rolling upgrade does.
            #expect(try await repository.failOrphanedPartitions(workerId: "w", running: []).isEmpty)
            try await repository.pool.withConnection { connection in
                try await connection.query(
                    "ALTER TABLE \"\(repository.schema)\".step_executions ADD COLUMN later_column integer")
            }
            #expect(try await repository.failOrphanedPartitions(workerId: "w", running: []).isEmpty)
        }
    }
}
