import Batch
import BatchPostgres
import Foundation
import Testing

@Suite(.database) struct PostgresJobRepositoryTests {
    static let parameters = JobParameters(["date": "2026-11-25"])

    static func launch(_ repository: PostgresJobRepository, workerId: String? = nil) async throws -> JobExecution {
        try await repository.createJobExecution(
            jobName: "job", jobKey: parameters.instanceKey, parameters: parameters, workerId: workerId)
    }

    @Test func twoRepositoriesRacingToStartTheSameInstance() async throws {
        try await TestDatabase.withRepository { repository in
            // A second process: its own pool, its own connections.
            let other = try PostgresJobRepository(
                configuration: repository.pool.configuration, logger: TestDatabase.logger)
            defer { Task { await other.shutdown() } }
            for round in 0..<5 {
                let parameters = JobParameters(["round": .int(Int64(round))])
                async let first = attempt {
                    try await repository.createJobExecution(
                        jobName: "race", jobKey: parameters.instanceKey, parameters: parameters, workerId: "a")
                }
                async let second = attempt {
                    try await other.createJobExecution(
                        jobName: "race", jobKey: parameters.instanceKey, parameters: parameters, workerId: "b")
                }
                let results = await [first, second]
                let winners = results.compactMap { try? $0.get() }
                #expect(winners.count == 1, "round \(round): exactly one start wins")
                for case .failure(let error) in results {
                    #expect((error as? BatchError)?.code == .alreadyRunning, "round \(round): \(error)")
                }
            }
        }
    }

    @Test func thePartialUniqueIndexRefusesASecondRunningExecution() async throws {
        try await TestDatabase.withRepository { repository in
            var first = try await Self.launch(repository)
            first.status = .failed
            first = try await repository.updateJobExecution(first)
            let second = try await Self.launch(repository)
            // Bringing the old FAILED execution back to STARTED while the new one runs: refused by the index.
            var revived = first
            revived.status = .started
            let error = try await #require(throws: BatchError.self) { try await repository.updateJobExecution(revived) }
            #expect(error.code == .alreadyRunning)
            let cause = try #require(error.underlying as? PostgresError)
            #expect(cause.sqlState == PostgresError.SQLState.uniqueViolation)
            #expect(cause.constraintName == "job_executions_one_running_per_instance")
            // Even raw SQL cannot insert a second running execution.
            let raw = try await #require(throws: PostgresError.self) {
                try await repository.pool.withConnection { connection in
                    try await connection.query(
                        """
                        INSERT INTO "\(repository.schema)".job_executions (instance_id, job_name, status)
                        VALUES ($1, 'job', 'STARTED')
                        """, [.int(second.instanceId)])
                }
            }
            #expect(raw.sqlState == PostgresError.SQLState.uniqueViolation)
            #expect(try await repository.jobExecutionStatus(id: first.id)?.status == .failed)
        }
    }

    @Test func aStaleUpdateFromAnotherProcessFailsWithAnOptimisticLockError() async throws {
        try await TestDatabase.withRepository { repository in
            let other = try PostgresJobRepository(
                configuration: repository.pool.configuration, logger: TestDatabase.logger)
            defer { Task { await other.shutdown() } }
            let execution = try await Self.launch(repository)
            var mine = execution
            mine.status = .started
            var theirs = try #require(try await other.jobExecution(id: execution.id))
            theirs.status = .stopping
            _ = try await other.updateJobExecution(theirs)
            let error = try await #require(throws: BatchError.self) { try await repository.updateJobExecution(mine) }
            #expect(error.code == .optimisticLock)
            #expect(error.message.contains("expected version 0, found 1"))
            #expect(
                try await repository.jobExecutionStatus(id: execution.id)
                    == ExecutionStatusSnapshot(status: .stopping, version: 1))
        }
    }

    @Test func aLaunchCostsTheSameStatementsWhateverTheHistory() async throws {
        try await TestDatabase.withRepository(poolSize: 1) { repository in
            func statements(_ body: () async throws -> Void) async throws -> Int {
                let before = try await repository.pool.withConnection { await $0.statementCount }
                try await body()
                return try await repository.pool.withConnection { await $0.statementCount } - before
            }
            var execution: JobExecution?
            let firstLaunch = try await statements { execution = try await Self.launch(repository) }
            execution!.status = .failed
            _ = try await repository.updateJobExecution(execution!)
            let withOne = try await statements { execution = try await Self.launch(repository) }
            execution!.status = .failed
            _ = try await repository.updateJobExecution(execution!)
            try await repository.pool.withConnection { connection in
                try await connection.query(
                    """
                    INSERT INTO "\(repository.schema)".job_executions (instance_id, job_name, status, create_time)
                    SELECT $1, 'job', 'FAILED', now() - interval '1 day' FROM generate_series(1, 1000)
                    """, [.int(execution!.instanceId)])
                // The last execution must stay the newest: give the failed one a higher id.
                try await connection.query(
                    """
                    UPDATE "\(repository.schema)".job_executions SET id = nextval(pg_get_serial_sequence($1, 'id'))
                     WHERE id = $2
                    """, [.text("\"\(repository.schema)\".job_executions"), .int(execution!.id)])
            }
            let withThousand = try await statements { execution = try await Self.launch(repository) }
            #expect(firstLaunch == 3, "BEGIN, the launch statement (instance, rules, execution), COMMIT")
            #expect(withOne == 3, "an existing instance: the same three")
            #expect(withThousand == withOne, "1,001 earlier executions cost the same as one")
        }
    }

    @Test("each worker is judged by the lease it registered with, not the sweeper's: a fleet may mix leases")
    func sweepsUseEachWorkersOwnLease() async throws {
        try await TestDatabase.withRepository { repository in
            // Every heartbeat 30 s old: a 60 s lease still holds, a 20 s one does not; a row without a lease (an
            // older worker) is judged by the sweeper's 10 s.
            let workers: [(id: String, lease: Duration?)] = [
                ("patient", .seconds(60)), ("eager", .seconds(20)), ("old", nil),
            ]
            var runs: [String: Int64] = [:]
            for worker in workers {
                try await repository.registerWorker(id: worker.id, host: "h", pid: 1, lease: worker.lease)
                let parameters = JobParameters(["worker": .string(worker.id)])
                var execution = try await repository.createJobExecution(
                    jobName: "j", jobKey: parameters.instanceKey, parameters: parameters, workerId: worker.id)
                execution.status = .started
                runs[worker.id] = try await repository.updateJobExecution(execution).id
            }
            try await repository.pool.withConnection { connection in
                try await connection.query(
                    "UPDATE \"\(repository.schema)\".workers SET heartbeat = now() - interval '30 seconds'")
            }
            let failed = try await repository.failExecutionsOfLostWorkers(lease: .seconds(10))
            #expect(Set(failed.map(\.workerId)) == ["eager", "old"])
            #expect(failed.first { $0.workerId == "eager" }?.exitMessage.contains("(lease 20 s)") == true)
            #expect(failed.first { $0.workerId == "old" }?.exitMessage.contains("(lease 10 s)") == true)
            #expect(try await repository.jobExecutionStatus(id: runs["patient"]!)?.status == .started)
        }
    }

    @Test("a live worker's id is refused to another process; the same process, or anyone once its lease ran out, may")
    func aLiveWorkersIdIsNotTaken() async throws {
        try await TestDatabase.withRepository { repository in
            try await repository.registerWorker(id: "w", host: "h1", pid: 1, lease: .seconds(10), token: "t1")
            // Another process, even with the same host and process id (containers sharing the host's network).
            let refused = await #expect(throws: BatchError.self) {
                try await repository.registerWorker(id: "w", host: "h1", pid: 1, lease: .seconds(10), token: "t2")
            }
            #expect(refused?.code == .workerIdInUse)
            #expect(refused?.message.contains("host h1, pid 1") == true, "\(String(describing: refused))")
            #expect(try await !repository.heartbeat(workerId: "w", token: "t2"), "not its row")
            #expect(try await repository.heartbeat(workerId: "w", token: "t1"))
            // The same process again.
            try await repository.registerWorker(id: "w", host: "h1", pid: 1, lease: .seconds(10), token: "t1")
            try await repository.pool.withConnection { connection in
                try await connection.query(
                    "UPDATE \"\(repository.schema)\".workers SET heartbeat = now() - interval '11 seconds'")
            }
            try await repository.registerWorker(id: "w", host: "h2", pid: 7, lease: .seconds(10), token: "t2")
            let row = try await repository.pool.withConnection { connection in
                try await connection.query("SELECT host, pid FROM \"\(repository.schema)\".workers WHERE id = 'w'")
            }.single()
            #expect(try row.decode("host", as: String.self) == "h2")
            #expect(try row.decode("pid", as: Int.self) == 7)
            #expect(try await !repository.heartbeat(workerId: "w", token: "t1"), "the old holder's beat is not counted")
        }
    }

    @Test func theLostWorkerSweepFailsExactlyTheDeadWorkersExecutions() async throws {
        try await TestDatabase.withRepository { repository in
            try await repository.registerWorker(id: "alive", host: "h1", pid: 1)
            try await repository.registerWorker(id: "dead", host: "h2", pid: 2)
            func launch(_ job: String, _ worker: String?) async throws -> JobExecution {
                let parameters = JobParameters(["job": .string(job)])
                return try await repository.createJobExecution(
                    jobName: job, jobKey: parameters.instanceKey, parameters: parameters, workerId: worker)
            }
            var aliveRun = try await launch("a", "alive")
            aliveRun.status = .started
            aliveRun = try await repository.updateJobExecution(aliveRun)
            var deadRun = try await launch("b", "dead")
            deadRun.status = .started
            deadRun = try await repository.updateJobExecution(deadRun)
            let deadStarting = try await launch("c", "dead")
            var deadDone = try await launch("d", "dead")
            deadDone.status = .completed
            deadDone = try await repository.updateJobExecution(deadDone)
            let vanished = try await launch("e", "vanished")  // a worker without a row
            let local = try await launch("f", nil)  // run in-process, no worker
            let now = Date()
            let runningStep = try await repository.createStepExecution(
                StepExecution(
                    jobExecutionId: deadRun.id, stepName: "s", status: .started, startTime: now, lastUpdated: now))
            let doneStep = try await repository.createStepExecution(
                StepExecution(
                    jobExecutionId: deadRun.id, stepName: "t", status: .completed, startTime: now, lastUpdated: now))

            try await repository.pool.withConnection { connection in
                try await connection.query(
                    "UPDATE \"\(repository.schema)\".workers SET heartbeat = now() - interval '30 seconds' WHERE id = 'dead'"
                )
            }
            #expect(try await repository.heartbeat(workerId: "alive"))
            #expect(try await !repository.heartbeat(workerId: "vanished"))

            let failed = try await repository.failExecutionsOfLostWorkers(lease: .seconds(10))
            #expect(Set(failed.map(\.id)) == [deadRun.id, deadStarting.id, vanished.id])
            for execution in failed {
                #expect(execution.status == .failed)
                #expect(execution.endTime != nil)
                #expect(execution.exitMessage.contains("worker \(execution.workerId!) was lost"))
            }
            let deadMessage = try #require(failed.first { $0.id == deadRun.id }?.exitMessage)
            #expect(deadMessage.contains("no heartbeat since"))
            #expect(try await repository.jobExecutionStatus(id: aliveRun.id)?.status == .started)
            #expect(try await repository.jobExecutionStatus(id: deadDone.id)?.status == .completed)
            #expect(try await repository.jobExecutionStatus(id: local.id)?.status == .starting)
            let steps = try await repository.stepExecutions(jobExecutionId: deadRun.id)
            #expect(steps.first { $0.id == runningStep.id }?.status == .failed)
            #expect(steps.first { $0.id == doneStep.id }?.status == .completed)

            // The dead worker's stale copy now fails loudly instead of overwriting FAILED.
            var stale = deadRun
            stale.status = .completed
            await #expect(throws: BatchError.self) { try await repository.updateJobExecution(stale) }
            // The instance can be restarted, and a second sweep finds nothing more.
            let restarted = try await repository.createJobExecution(
                jobName: "b", jobKey: deadRun.parameters.instanceKey, parameters: deadRun.parameters, workerId: "alive")
            #expect(restarted.instanceId == deadRun.instanceId)
            // "alive" beats again first: on a loaded machine this test can outlast the 10 s lease of its first beat.
            #expect(try await repository.heartbeat(workerId: "alive"))
            #expect(try await repository.failExecutionsOfLostWorkers(lease: .seconds(10)).isEmpty)
            try await repository.removeWorker(id: "dead")
            #expect(try await !repository.heartbeat(workerId: "dead"))
        }
    }

    @Test func aShutdownPastItsGraceFailsItsJobsButLeavesPartitionsOtherWorkersRunToThem() async throws {
        try await TestDatabase.withRepository { repository in
            let parameters = JobParameters(["n": 1])
            var job = try await repository.createJobExecution(
                jobName: "spread", jobKey: parameters.instanceKey, parameters: parameters, workerId: "leaving")
            job.status = .started
            job = try await repository.updateJobExecution(job)
            let now = Date()
            let own = try await repository.createStepExecution(
                StepExecution(
                    jobExecutionId: job.id, stepName: "parts", status: .started, startTime: now, lastUpdated: now))
            let partitions = try await repository.createStepExecutions(
                ["parts:p1", "parts:p2", "parts:p3"].map {
                    StepExecution(jobExecutionId: job.id, stepName: $0, startTime: now, lastUpdated: now)
                })
            guard
                case .claimed = try await repository.claimPartition(
                    stepExecutionId: partitions[0].id, workerId: "other"),
                case .claimed = try await repository.claimPartition(
                    stepExecutionId: partitions[1].id, workerId: "leaving")
            else { throw BatchError(.invalidState, "the partitions were not claimed") }

            let failed = try await repository.failRunningExecutions(workerId: "leaving", message: "grace ended")
            #expect(failed.map(\.id) == [job.id])
            #expect(failed.first?.status == .failed && failed.first?.exitMessage == "grace ended")
            let steps = Dictionary(
                uniqueKeysWithValues: try await repository.stepExecutions(jobExecutionId: job.id).map { ($0.id, $0) })
            #expect(steps[own.id]?.status == .failed, "the leaving worker's own step fails")
            #expect(steps[partitions[0].id]?.status == .started, "another worker's partition stops by itself")
            #expect(steps[partitions[1].id]?.status == .stopped, "its own partition stops")
            #expect(steps[partitions[2].id]?.status == .stopped, "an untaken partition stops")
            #expect(steps[partitions[2].id]?.exitMessage == "grace ended")
        }
    }
}

/// The result of an async throwing body.
func attempt<Success>(_ body: () async throws -> Success) async -> Result<Success, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}
