import Batch
import Foundation

extension RepositoryContract {
    /// The remote partition cases.
    static let partitionCases: [Case] = [
        Case(name: "remote partitions are created in one transaction", run: partitionsCreatedTogether),
        Case(name: "a remote partition is claimed once, by a running job", run: partitionClaimedOnce),
        Case(name: "a lost worker's partition is sent again up to the attempt limit", run: lostPartitionsReclaimed),
        Case(name: "a lost worker's partition of a stopping job ends STOPPED", run: lostPartitionsOfStoppingJobStop),
        Case(name: "no new execution while the last one's partitions still run", run: noRestartBesidePartitions),
        Case(
            name: "a partition handed back at shutdown waits again and gives its attempt back", run: partitionHandedBack
        ),
    ]

    static func partitions(_ job: JobExecution, _ names: [String]) -> [StepExecution] {
        let now = Date()
        return names.map { name in
            StepExecution(
                jobExecutionId: job.id, stepName: "step:\(name)", startTime: now, lastUpdated: now,
                context: ExecutionContext(["from": .string(name)]))
        }
    }

    static func partitionsCreatedTogether(_ repository: any JobRepository) async throws {
        let job = try await launch(repository)
        let created = try await repository.createStepExecutions(partitions(job, ["a", "b", "c"]))
        try check(created.map(\.stepName) == ["step:a", "step:b", "step:c"], "created in the order given")
        try check(Set(created.map(\.id)).count == 3 && created.allSatisfy { $0.id != 0 }, "each has its own id")
        try check(created.allSatisfy { $0.status == .starting && $0.version == 0 }, "STARTING, version 0")
        try check(created.allSatisfy { $0.workerId == nil && $0.attempt == 0 }, "no worker, no attempt yet")
        let stored = try await repository.stepExecution(id: created[1].id)
        try check(stored == created[1], "read back by id exactly, got \(String(describing: stored))")
        try check(stored?.context["from"] == "b", "initial context stored")
        let last = try await repository.lastStepExecution(instanceId: job.instanceId, stepName: "step:c")
        try check(last?.id == created[2].id, "a partition is the last execution of its step name")

        let ghost = JobExecution(
            id: 987_654, instanceId: job.instanceId, jobName: "job", parameters: JobParameters(), createTime: Date(),
            lastUpdated: Date())
        try await expectError(.executionNotFound, "partitions of a missing execution") {
            _ = try await repository.createStepExecutions(partitions(job, ["d"]) + partitions(ghost, ["e"]))
        }
        let listed = try await repository.stepExecutions(jobExecutionId: job.id)
        try check(listed.count == 3, "a refused batch stores none of its partitions, found \(listed.count)")
        let none = try await repository.stepExecution(id: 987_654)
        try check(none == nil, "no step execution 987654")
    }

    static func partitionClaimedOnce(_ repository: any JobRepository) async throws {
        var job = try await launch(repository)
        job.status = .started
        job = try await repository.updateJobExecution(job)
        let created = try await repository.createStepExecutions(partitions(job, ["a", "b"]))
        let outcomes = await withTaskGroup(of: PartitionClaim?.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try? await repository.claimPartition(stepExecutionId: created[0].id, workerId: "w\(index)")
                }
            }
            var outcomes: [PartitionClaim?] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let winners = outcomes.compactMap { outcome -> StepExecution? in
            if case .claimed(let step) = outcome { return step }
            return nil
        }
        try check(winners.count == 1, "exactly one of 8 racing workers claims the partition, got \(winners.count)")
        let winner = winners[0]
        try check(winner.status == .started && winner.attempt == 1, "claimed: STARTED, attempt 1, got \(winner)")
        try check(winner.workerId?.hasPrefix("w") == true, "the claiming worker recorded")
        try check(winner.version == 1, "the claim moves the version")
        let losers = outcomes.filter { if case .notWaiting = $0 { return true } else { return false } }
        try check(losers.count == 7, "the others find it taken, got \(outcomes)")
        let missing = try await repository.claimPartition(stepExecutionId: 987_654, workerId: "w")
        try check(missing == .notFound, "a missing partition is not found, got \(missing)")

        job.status = .stopping
        job = try await repository.updateJobExecution(job)
        let late = try await repository.claimPartition(stepExecutionId: created[1].id, workerId: "w9")
        guard case .jobNotRunning(let stopped) = late else {
            throw ContractViolation(description: "a partition of a stopping job is not run, got \(late)")
        }
        try check(stopped.status == .stopped && stopped.workerId == nil, "it ends STOPPED untaken, got \(stopped)")
        try check(stopped.endTime != nil, "with an end time")
    }

    static func lostPartitionsReclaimed(_ repository: any JobRepository) async throws {
        var job = try await launch(repository)
        job.status = .started
        job = try await repository.updateJobExecution(job)
        let created = try await repository.createStepExecutions(partitions(job, ["a", "b"]))
        _ = try await repository.claimPartition(stepExecutionId: created[0].id, workerId: "gone-worker")
        guard
            case .claimed(var running) = try await repository.claimPartition(
                stepExecutionId: created[1].id, workerId: "gone-worker")
        else { throw ContractViolation(description: "claim of a waiting partition") }
        running.context["position"] = 40
        running.counters.write = 40
        running = try await repository.updateStepExecution(running)

        // "gone-worker" has no worker record: lost, whatever the lease.
        let first = try await repository.reclaimLostPartitions(
            jobExecutionId: job.id, lease: .seconds(3600), maxAttempts: 2)
        try check(first.resent.map(\.id) == created.map(\.id), "both partitions sent again, got \(first)")
        try check(first.failed.isEmpty, "none past the limit yet")
        let resent = first.resent[1]
        try check(resent.status == .starting && resent.workerId == nil, "waiting for a worker again, got \(resent)")
        try check(resent.attempt == 1, "the attempt count is kept until the next claim")
        try check(resent.context["position"] == 40 && resent.counters.write == 40, "its last committed chunk kept")
        let stale = try await repository.reclaimLostPartitions(
            jobExecutionId: job.id, lease: .seconds(3600), maxAttempts: 2)
        try check(stale.resent.isEmpty && stale.failed.isEmpty, "a waiting partition is not sent twice")

        guard
            case .claimed(let second) = try await repository.claimPartition(
                stepExecutionId: created[1].id, workerId: "gone-again")
        else { throw ContractViolation(description: "the re-sent partition can be claimed") }
        try check(second.attempt == 2 && second.workerId == "gone-again", "attempt 2 by the new worker")
        try await expectError(.optimisticLock, "the lost worker's late commit is refused") {
            _ = try await repository.updateStepExecution(running)
        }
        let last = try await repository.reclaimLostPartitions(
            jobExecutionId: job.id, lease: .seconds(3600), maxAttempts: 2)
        try check(last.resent.isEmpty && last.failed.map(\.id) == [created[1].id], "past the limit: FAILED")
        try check(last.failed.first?.status == .failed, "FAILED")
        try check(last.failed.first?.exitMessage.contains("gone-again") == true, "the message names the lost worker")

        job = try await finish(repository, job, .failed)
        _ = try await repository.claimPartition(stepExecutionId: created[0].id, workerId: "gone-worker")
        let ended = try await repository.reclaimLostPartitions(
            jobExecutionId: job.id, lease: .seconds(3600), maxAttempts: 5)
        try check(ended.resent.isEmpty && ended.failed.isEmpty, "nothing is sent again for an ended execution")
    }

    static func lostPartitionsOfStoppingJobStop(_ repository: any JobRepository) async throws {
        var job = try await launch(repository)
        job.status = .started
        job = try await repository.updateJobExecution(job)
        let created = try await repository.createStepExecutions(partitions(job, ["a", "b", "c"]))
        for partition in created.prefix(2) {
            _ = try await repository.claimPartition(stepExecutionId: partition.id, workerId: "gone-worker")
        }
        job.status = .stopping
        job = try await repository.updateJobExecution(job)

        let swept = try await repository.reclaimLostPartitions(
            jobExecutionId: job.id, lease: .seconds(3600), maxAttempts: 5)
        try check(swept.resent.isEmpty && swept.failed.isEmpty, "nothing sent again for a stopping job, got \(swept)")
        try check(swept.stopped.map(\.id) == created.prefix(2).map(\.id), "both lost partitions stopped, got \(swept)")
        for step in swept.stopped {
            try check(step.status == .stopped && step.exitCode == "STOPPED" && step.endTime != nil, "STOPPED: \(step)")
            try check(step.exitMessage.contains("gone-worker"), "the message names the lost worker: \(step)")
            try check(try await repository.stepExecution(id: step.id) == step, "stored as returned")
        }
        try check(
            try await repository.stepExecution(id: created[2].id)?.status == .starting,
            "a partition no worker took is the manager's to stop")
        let again = try await repository.reclaimLostPartitions(
            jobExecutionId: job.id, lease: .seconds(3600), maxAttempts: 5)
        try check(again == PartitionReclaim(), "an ended partition is not swept twice, got \(again)")
    }

    static func noRestartBesidePartitions(_ repository: any JobRepository) async throws {
        var job = try await launch(repository)
        job.status = .started
        job = try await repository.updateJobExecution(job)
        let created = try await repository.createStepExecutions(partitions(job, ["a", "b"]))
        guard
            case .claimed(var running) = try await repository.claimPartition(
                stepExecutionId: created[0].id, workerId: "still-running")
        else { throw ContractViolation(description: "claim of a waiting partition") }
        job = try await finish(repository, job, .failed)  // its manager was lost, say
        try await expectError(.alreadyRunning, "a restart while a partition of the last execution runs") {
            _ = try await launch(repository)
        }
        try check(
            try await repository.lastJobExecution(instanceId: job.instanceId)?.id == job.id,
            "the refusal stored nothing")
        running.status = .stopped
        running.endTime = Date()
        _ = try await repository.updateStepExecution(running)
        let again = try await launch(repository)
        try check(again.instanceId == job.instanceId && again.id != job.id, "once it stopped, the restart runs")
    }

    static func partitionHandedBack(_ repository: any JobRepository) async throws {
        var job = try await launch(repository)
        job.status = .started
        job = try await repository.updateJobExecution(job)
        let created = try await repository.createStepExecutions(partitions(job, ["a"]))
        for round in 1...4 {
            guard
                case .claimed(var running) = try await repository.claimPartition(
                    stepExecutionId: created[0].id, workerId: "w\(round)")
            else { throw ContractViolation(description: "round \(round): the handed-back partition is claimed again") }
            try check(
                running.attempt == 1, "round \(round): every claim after a hand-back is attempt 1, got \(running)")
            // A chunk committed, then the worker's shutdown stopped it.
            running.counters.read += 10
            running.counters.write += 10
            running.context["offset"] = .int(Int64(round * 10))
            running = try await repository.updateStepExecution(running)
            running.status = .stopped
            running.exitCode = "STOPPED"
            running.exitMessage = "the worker shuts down"
            running.endTime = Date()
            running = try await repository.updateStepExecution(running)

            let waiting = try await repository.handBackPartition(running)
            try check(waiting.status == .starting, "round \(round): STARTING again, got \(waiting.status)")
            try check(waiting.workerId == nil && waiting.attempt == 0, "round \(round): no worker, attempt given back")
            try check(waiting.endTime == nil && waiting.exitMessage.isEmpty, "round \(round): end and exit cleared")
            try check(waiting.counters.read == running.counters.read, "round \(round): counters kept")
            try check(waiting.context["offset"] == .int(Int64(round * 10)), "round \(round): context kept")
            try check(waiting.version == running.version + 1, "round \(round): the version moves")
            let stored = try await repository.stepExecution(id: created[0].id)
            try check(stored == waiting, "round \(round): stored as returned")
        }
        try await expectError(.optimisticLock, "a stale hand-back") {
            _ = try await repository.handBackPartition(created[0])
        }
    }
}
