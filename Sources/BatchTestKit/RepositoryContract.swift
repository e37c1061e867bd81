import Batch
import Foundation

/// The behaviour every ``JobRepository`` must have, as checks runnable against any implementation: the engine's
/// tests run them against the in-memory repository, the PostgreSQL tests against PostgreSQL, unchanged.
///
/// Each case gets a fresh, empty repository from the caller and throws ``ContractViolation`` when the repository
/// misbehaves.
public enum RepositoryContract {
    /// One named check.
    public struct Case: Sendable, CustomStringConvertible {
        /// What the check asserts.
        public let name: String
        /// Runs the check against a fresh repository.
        public let run: @Sendable (any JobRepository) async throws -> Void
        /// The name.
        public var description: String { name }
    }

    /// Every check.
    public static let cases: [Case] =
        [
            Case(name: "a launch creates an instance and a STARTING execution", run: launchCreatesInstance),
            Case(name: "one running execution per instance", run: oneRunningPerInstance),
            Case(name: "start rules after each final status", run: startRulesAfterFinalStatuses),
            Case(name: "a new-instance-only launch runs an instance once", run: newInstanceOnlyLaunch),
            Case(name: "a restart carries the job context over", run: restartCarriesContext),
            Case(name: "a stale job execution update is refused", run: staleJobUpdateRefused),
            Case(name: "only an instance's last execution is abandoned, even racing restarts", run: abandonLastOnly),
            Case(name: "lookups of instances and executions", run: lookups),
            Case(name: "step executions: versions and last of a step", run: stepExecutions),
            Case(name: "chunk transaction commit and rollback", run: chunkTransactions),
            Case(name: "racing launches: exactly one wins", run: racingLaunches),
            Case(name: "missing records", run: missingRecords),
            Case(name: "JSON values survive storage", run: jsonRoundTrip),
            Case(name: "a step's start stores the job change and creates the step", run: stepStartCreates),
            Case(name: "a step's start resumes, skips or reruns after earlier executions", run: stepStartAfterHistory),
            Case(name: "a step's start after a stop creates nothing", run: stepStartAfterStop),
            Case(name: "a step's start with a stale job change stores nothing", run: stepStartStale),
            Case(name: "a step's end stores the step, then the job", run: stepEndStoresBoth),
        ] + partitionCases

    static func launch(
        _ repository: any JobRepository, _ job: String = "job", _ parameters: JobParameters = JobParameters(["k": 1])
    ) async throws -> JobExecution {
        try await repository.createJobExecution(
            jobName: job, jobKey: parameters.instanceKey, parameters: parameters, workerId: nil)
    }

    static func finish(
        _ repository: any JobRepository, _ execution: JobExecution, _ status: BatchStatus
    )
        async throws -> JobExecution
    {
        var execution = execution
        execution.status = status
        execution.endTime = Date()
        return try await repository.updateJobExecution(execution)
    }

    static func launchCreatesInstance(_ repository: any JobRepository) async throws {
        let parameters = JobParameters(["date": "2026-11-25", "n": 3])
        let execution = try await launch(repository, "daily", parameters)
        try check(execution.status == .starting, "new execution is STARTING, got \(execution.status)")
        try check(execution.version == 0, "new execution has version 0, got \(execution.version)")
        try check(execution.parameters == parameters, "parameters stored with the execution")
        try check(execution.jobName == "daily", "job name stored")
        let instance = try await repository.jobInstance(id: execution.instanceId)
        try check(instance?.jobName == "daily", "instance stored")
        try check(instance?.jobKey == parameters.instanceKey, "instance key stored")
        try check(instance?.parameters == parameters, "instance parameters stored")
        let other = try await launch(repository, "daily", JobParameters(["date": "2026-11-26", "n": 3]))
        try check(other.instanceId != execution.instanceId, "other parameters make another instance")
        let sameKeyOtherJob = try await launch(repository, "weekly", parameters)
        try check(sameKeyOtherJob.instanceId != execution.instanceId, "instance identity includes the job name")
    }

    static func oneRunningPerInstance(_ repository: any JobRepository) async throws {
        var execution = try await launch(repository)
        for status in [BatchStatus.starting, .started, .stopping] {
            if execution.status != status {
                execution.status = status
                execution = try await repository.updateJobExecution(execution)
            }
            try await expectError(.alreadyRunning, "second launch while \(status)") { _ = try await launch(repository) }
        }
        let executions = try await repository.jobExecutions(jobName: "job", limit: 10)
        try check(executions.count == 1, "refused launches store nothing, found \(executions.count) executions")
    }

    static func startRulesAfterFinalStatuses(_ repository: any JobRepository) async throws {
        let expectations: [(BatchStatus, BatchError.Code?)] = [
            (.completed, .alreadyComplete), (.abandoned, .abandoned), (.unknown, .endedAbnormally),
            (.failed, nil), (.stopped, nil),
        ]
        for (index, (status, code)) in expectations.enumerated() {
            let parameters = JobParameters(["case": .int(Int64(index))])
            let first = try await launch(repository, "rules", parameters)
            _ = try await finish(repository, first, status)
            if let code {
                try await expectError(code, "launch after \(status)") {
                    _ = try await launch(repository, "rules", parameters)
                }
            } else {
                let second = try await launch(repository, "rules", parameters)
                try check(second.instanceId == first.instanceId, "launch after \(status) reuses the instance")
                try check(second.id != first.id, "launch after \(status) makes a new execution")
                let last = try await repository.lastJobExecution(instanceId: first.instanceId)
                try check(last?.id == second.id, "the new execution is the instance's last")
            }
        }
    }

    static func newInstanceOnlyLaunch(_ repository: any JobRepository) async throws {
        func launchNew(_ parameters: JobParameters) async throws -> JobExecution {
            try await repository.createJobExecution(
                jobName: "slots", jobKey: parameters.instanceKey, parameters: parameters, workerId: nil,
                newInstanceOnly: true)
        }
        for (index, status) in [BatchStatus.failed, .stopped, .completed, .started].enumerated() {
            let parameters = JobParameters(["slot": .int(Int64(index))])
            var first = try await launchNew(parameters)
            try check(first.status == .starting, "a new instance gets its execution")
            first.status = status
            if status.isFinished { first.endTime = Date() }
            first = try await repository.updateJobExecution(first)
            try await expectError(.instanceExists, "a second new-instance-only launch after \(status)") {
                _ = try await launchNew(parameters)
            }
            let last = try await repository.lastJobExecution(instanceId: first.instanceId)
            try check(last?.id == first.id, "the refused launch stored nothing after \(status)")
        }
        // The same instance, launched without the flag after FAILED, is a restart as usual.
        let parameters = JobParameters(["slot": .int(0)])
        let again = try await launch(repository, "slots", parameters)
        try check(again.status == .starting, "an ordinary launch after FAILED still runs the instance again")
    }

    static func restartCarriesContext(_ repository: any JobRepository) async throws {
        var first = try await launch(repository)
        first.context["progress"] = .int(42)
        first.context["nested"] = ["a": [1, 2.5, "x", nil, true]]
        first = try await finish(repository, first, .failed)
        let second = try await launch(repository)
        try check(second.context == first.context, "job context carried over, got \(second.context)")
    }

    static func staleJobUpdateRefused(_ repository: any JobRepository) async throws {
        let execution = try await launch(repository)
        var fresh = execution
        fresh.status = .started
        fresh = try await repository.updateJobExecution(fresh)
        try check(fresh.version == execution.version + 1, "update moves the version on by one")
        var stale = execution
        stale.status = .failed
        stale.exitMessage = "stale"
        try await expectError(.optimisticLock, "update with an old version") {
            _ = try await repository.updateJobExecution(stale)
        }
        let stored = try await repository.jobExecution(id: execution.id)
        try check(stored?.status == .started && stored?.exitMessage == "", "a refused update writes nothing")
        var renamed = fresh
        renamed.jobName = "other"
        renamed.parameters = JobParameters(["k": 2])
        renamed.createTime = Date(timeIntervalSince1970: 0)
        renamed.exitMessage = "changed"
        let kept = try await repository.updateJobExecution(renamed)
        try check(
            kept.jobName == execution.jobName && kept.parameters == execution.parameters
                && abs(kept.createTime.timeIntervalSince(execution.createTime)) < 0.001
                && kept.exitMessage == "changed",
            "an update keeps the launch's name, parameters and create time, got \(kept)")
        fresh = kept
        let snapshot = try await repository.jobExecutionStatus(id: execution.id)
        try check(
            snapshot == ExecutionStatusSnapshot(status: .started, version: fresh.version),
            "status snapshot matches, got \(String(describing: snapshot))")
    }

    static func abandonLastOnly(_ repository: any JobRepository) async throws {
        func abandoned(_ execution: JobExecution) -> JobExecution {
            var execution = execution
            execution.status = .abandoned
            execution.exitCode = BatchStatus.abandoned.rawValue
            return execution
        }
        let first = try await finish(repository, try await launch(repository), .failed)
        let second = try await finish(repository, try await launch(repository), .stopped)
        try await expectError(.cannotAbandon, "abandon of an execution that is not the instance's last") {
            _ = try await repository.abandonJobExecution(abandoned(first))
        }
        try check(try await repository.jobExecution(id: first.id)?.status == .failed, "the refusal writes nothing")
        let stored = try await repository.abandonJobExecution(abandoned(second))
        try check(stored.status == .abandoned && stored.version == second.version + 1, "the last one is abandoned")
        try await expectError(.abandoned, "a launch after the abandon") { _ = try await launch(repository) }
        // Restarts racing the abandon of a FAILED last execution: either the abandon came first and no later
        // execution exists, or a restart came first and the abandon was refused.
        for round in 0..<5 {
            let parameters = JobParameters(["round": .int(Int64(round))])
            let failed = try await finish(repository, try await launch(repository, "job", parameters), .failed)
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        if index.isMultiple(of: 2) {
                            _ = try? await repository.abandonJobExecution(abandoned(failed))
                        } else {
                            _ = try? await launch(repository, "job", parameters)
                        }
                    }
                }
            }
            let status = try await repository.jobExecution(id: failed.id)?.status
            let last = try await repository.lastJobExecution(instanceId: failed.instanceId)
            try check(
                status != .abandoned || last?.id == failed.id,
                "round \(round): execution \(failed.id) is ABANDONED but execution \(last?.id ?? 0) came after it")
        }
    }

    static func lookups(_ repository: any JobRepository) async throws {
        let a1 = try await launch(repository, "a", JobParameters(["n": 1]))
        _ = try await finish(repository, a1, .failed)
        let a2 = try await launch(repository, "a", JobParameters(["n": 1]))
        let a3 = try await launch(repository, "a", JobParameters(["n": 2]))
        let b1 = try await launch(repository, "b", JobParameters(["n": 1]))
        let lastA = try await repository.lastJobInstance(jobName: "a")
        try check(lastA?.id == a3.instanceId, "last instance of a is the newest")
        let lastOfFirst = try await repository.lastJobExecution(instanceId: a1.instanceId)
        try check(lastOfFirst?.id == a2.id, "last execution of an instance is its newest")
        let all = try await repository.jobExecutions(jobName: nil, limit: 10).map(\.id)
        try check(all == [b1.id, a3.id, a2.id, a1.id], "all executions newest first, got \(all)")
        let ofA = try await repository.jobExecutions(jobName: "a", limit: 2).map(\.id)
        try check(ofA == [a3.id, a2.id], "executions of a, limited, got \(ofA)")
        let none = try await repository.lastJobInstance(jobName: "c")
        try check(none == nil, "no instance of an unknown job")
    }

    static func stepExecutions(_ repository: any JobRepository) async throws {
        let job = try await launch(repository)
        let now = Date()
        var step = try await repository.createStepExecution(
            StepExecution(jobExecutionId: job.id, stepName: "load", startTime: now, lastUpdated: now))
        try check(step.id != 0 && step.version == 0, "created step has an id and version 0")
        let other = try await repository.createStepExecution(
            StepExecution(jobExecutionId: job.id, stepName: "sum", startTime: now, lastUpdated: now))
        let original = step
        step.status = .failed
        step.counters = StepCounters(read: 10, write: 8, filter: 2, commit: 1, rollback: 1)
        step.context["reader.index"] = 10
        step.exitMessage = "boom"
        step = try await repository.updateStepExecution(step)
        try check(step.version == 1, "step update moves the version")
        try await expectError(.optimisticLock, "stale step update") {
            _ = try await repository.updateStepExecution(original)
        }
        let listed = try await repository.stepExecutions(jobExecutionId: job.id)
        try check(listed.map(\.id) == [step.id, other.id], "steps in creation order")
        try check(listed.first == step, "step stored exactly, got \(String(describing: listed.first))")
        _ = try await finish(repository, job, .failed)
        let second = try await launch(repository)
        let again = try await repository.createStepExecution(
            StepExecution(jobExecutionId: second.id, stepName: "load", startTime: now, lastUpdated: now))
        let last = try await repository.lastStepExecution(instanceId: job.instanceId, stepName: "load")
        try check(last?.id == again.id, "last step execution of a step across the instance's executions")
        let lastSum = try await repository.lastStepExecution(instanceId: job.instanceId, stepName: "sum")
        try check(lastSum?.id == other.id, "a step not run again keeps its last execution")
        let missing = try await repository.lastStepExecution(instanceId: job.instanceId, stepName: "nope")
        try check(missing == nil, "no execution of a step never run")
    }

    static func chunkTransactions(_ repository: any JobRepository) async throws {
        let job = try await launch(repository)
        let now = Date()
        let step = try await repository.createStepExecution(
            StepExecution(jobExecutionId: job.id, stepName: "chunks", startTime: now, lastUpdated: now))
        var next = step
        next.counters.read = 5
        next.counters.commit = 1
        next.context["position"] = 5
        let transaction = try await repository.beginChunk()
        let committed = try await transaction.commit(next)
        try check(committed.version == step.version + 1, "commit stores the step with a new version")
        let stored = try await repository.stepExecutions(jobExecutionId: job.id).first
        try check(stored?.context["position"] == 5 && stored?.counters.read == 5, "commit stored counters and context")

        let rolledBack = try await repository.beginChunk()
        await rolledBack.rollback()
        let unchanged = try await repository.stepExecutions(jobExecutionId: job.id).first
        try check(unchanged == stored, "rollback changes nothing")

        let stale = try await repository.beginChunk()
        try await expectError(.optimisticLock, "commit of a stale step execution") { _ = try await stale.commit(next) }
    }

    static func racingLaunches(_ repository: any JobRepository) async throws {
        let results = await withTaskGroup(of: Result<Int64, any Error>.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do { return .success(try await launch(repository, "race").id) } catch { return .failure(error) }
                }
            }
            var results: [Result<Int64, any Error>] = []
            for await result in group { results.append(result) }
            return results
        }
        let winners = results.compactMap { try? $0.get() }
        try check(winners.count == 1, "exactly one launch wins, got \(winners.count)")
        for case .failure(let error) in results {
            try check((error as? BatchError)?.code == .alreadyRunning, "losers get alreadyRunning, got \(error)")
        }
    }

    static func missingRecords(_ repository: any JobRepository) async throws {
        let missing = try await repository.jobExecution(id: 987_654)
        try check(missing == nil, "no execution 987654")
        let snapshot = try await repository.jobExecutionStatus(id: 987_654)
        try check(snapshot == nil, "no status for a missing execution")
        let now = Date()
        let ghost = JobExecution(
            id: 987_654, instanceId: 1, jobName: "ghost", parameters: JobParameters(), createTime: now,
            lastUpdated: now)
        try await expectError(.executionNotFound, "update of a missing execution") {
            _ = try await repository.updateJobExecution(ghost)
        }
    }

    static func jsonRoundTrip(_ repository: any JobRepository) async throws {
        let parameters = JobParameters([
            "quote": "it's \"quoted\"", "sql": "'; DROP TABLE job_instances; --", "unicode": "Ünïcødé ✓ 日本",
            "int": .int(Int64.max), "double": 2.5, "bool": false, "null": nil, "nested": ["a": [1, ["b": "c"]]],
            "newline": "a\nb\tc\\",
        ])
        let execution = try await launch(repository, "json", parameters)
        let stored = try await repository.jobExecution(id: execution.id)
        try check(
            stored?.parameters == parameters, "parameters unchanged, got \(String(describing: stored?.parameters))")
        let instance = try await repository.jobInstance(id: execution.instanceId)
        try check(instance?.parameters == parameters, "instance parameters unchanged")
    }
}

/// A repository did not behave as ``JobRepository`` requires.
public struct ContractViolation: Error, CustomStringConvertible {
    /// What was expected.
    public let description: String
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ContractViolation(description: message()) }
}

func expectError(_ code: BatchError.Code, _ what: String, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as BatchError {
        try check(error.code == code, "\(what): expected \(code), got \(error.code): \(error.message)")
        return
    }
    throw ContractViolation(description: "\(what): expected \(code), but it succeeded")
}
