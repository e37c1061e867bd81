import Batch
import Foundation

extension RepositoryContract {
    static func stepStart(
        _ execution: JobExecution, storing change: JobExecution?, step: String = "load", runsAgain: Bool = false
    ) -> StepStart {
        StepStart(
            jobExecution: change, jobExecutionId: execution.id, instanceId: execution.instanceId, stepName: step,
            status: .started, startTime: Date(), runsAgainIfComplete: runsAgain)
    }

    static func started(_ execution: JobExecution) -> JobExecution {
        var started = execution
        started.status = .started
        started.startTime = Date()
        return started
    }

    static func stepStartCreates(_ repository: any JobRepository) async throws {
        let execution = try await launch(repository)
        let result = try await repository.startStep(stepStart(execution, storing: started(execution)))
        let stored = try requireValue(result.jobExecution, "the stored job change")
        try check(stored.status == .started && stored.version == 1, "the job change is stored, version 1")
        try check(result.jobStatus == ExecutionStatusSnapshot(status: .started, version: 1), "status after the change")
        try check(result.previous == nil, "no earlier step execution")
        let created = try requireValue(result.created, "the new step execution")
        try check(created.id != 0 && created.version == 0, "created with an id and version 0")
        try check(created.status == .started && created.stepName == "load", "created STARTED as asked")
        try check(created.context == ExecutionContext(), "a first execution starts from an empty context")
        try check(
            try await repository.stepExecutions(jobExecutionId: execution.id) == [created], "the step is stored")
        try check(try await repository.jobExecution(id: execution.id) == stored, "the job change is stored")
        let second = try await repository.startStep(stepStart(stored, storing: nil, step: "sum"))
        try check(second.jobExecution == nil, "no job change, none stored")
        try check(second.created?.stepName == "sum", "a start without a job change creates the step")
    }

    static func stepStartAfterHistory(_ repository: any JobRepository) async throws {
        // A first execution fails in the step, with a context to resume from.
        var execution = try await launch(repository)
        var step = try requireValue(
            try await repository.startStep(stepStart(execution, storing: started(execution))).created, "first step")
        step.status = .failed
        step.context["offset"] = 5
        step = try await repository.updateStepExecution(step)
        execution = try requireValue(try await repository.jobExecution(id: execution.id), "first execution")
        _ = try await finish(repository, execution, .failed)
        // The restart resumes from it.
        execution = try await launch(repository)
        let resumed = try await repository.startStep(stepStart(execution, storing: started(execution)))
        try check(resumed.previous == step, "the previous step execution is the failed one")
        var rerun = try requireValue(resumed.created, "a failed step runs again")
        try check(rerun.context["offset"] == 5, "from the failed one's context")
        rerun.status = .completed
        rerun = try await repository.updateStepExecution(rerun)
        execution = try requireValue(try await repository.jobExecution(id: execution.id), "second execution")
        _ = try await finish(repository, execution, .failed)
        // A completed step is skipped, or runs again from an empty context when allowed.
        execution = try await launch(repository)
        let skipped = try await repository.startStep(stepStart(execution, storing: started(execution)))
        try check(skipped.previous == rerun, "the previous step execution is the completed one")
        try check(skipped.created == nil, "a completed step is not created again")
        try check(skipped.jobStatus.status == .started, "the job change is stored all the same")
        let again = try await repository.startStep(stepStart(execution, storing: nil, runsAgain: true))
        try check(again.created?.context == ExecutionContext(), "a step that runs again starts from an empty context")
    }

    static func stepStartAfterStop(_ repository: any JobRepository) async throws {
        var execution = try await launch(repository)
        execution.status = .stopping
        execution = try await repository.updateJobExecution(execution)
        let result = try await repository.startStep(stepStart(execution, storing: nil))
        try check(result.jobStatus.status == .stopping, "the stop is read")
        try check(result.created == nil, "no step execution is created")
        try check(try await repository.stepExecutions(jobExecutionId: execution.id).isEmpty, "nothing is stored")
    }

    static func stepStartStale(_ repository: any JobRepository) async throws {
        let execution = try await launch(repository)
        var stopping = execution
        stopping.status = .stopping
        _ = try await repository.updateJobExecution(stopping)
        try await expectError(.optimisticLock, "a stale job change") {
            _ = try await repository.startStep(stepStart(execution, storing: started(execution)))
        }
        try check(try await repository.stepExecutions(jobExecutionId: execution.id).isEmpty, "no step is stored")
        try check(
            try await repository.jobExecutionStatus(id: execution.id)
                == ExecutionStatusSnapshot(status: .stopping, version: 1), "the job execution is as the stop left it")
    }

    static func stepEndStoresBoth(_ repository: any JobRepository) async throws {
        let execution = try await launch(repository)
        let result = try await repository.startStep(stepStart(execution, storing: started(execution)))
        var job = try requireValue(result.jobExecution, "the stored job")
        var step = try requireValue(result.created, "the step")
        step.status = .completed
        step.endTime = Date()
        job.status = .completed
        job.endTime = Date()
        job.context["total"] = 3
        let ended = try await repository.endStep(step, jobExecution: job)
        try check(ended.stepExecution.status == .completed && ended.stepExecution.version == 1, "the step is stored")
        let storedJob = try requireValue(ended.jobExecution, "the job is stored")
        try check(storedJob.status == .completed && storedJob.version == 2, "the job's outcome, its version moved on")
        try check(try await repository.jobExecution(id: execution.id) == storedJob, "as stored")
        try check(storedJob.context["total"] == 3, "with its context")

        // A stale job: the step is stored, the job is not.
        let other = try await launch(repository, "job", JobParameters(["k": 2]))
        let otherStart = try await repository.startStep(stepStart(other, storing: started(other)))
        var otherJob = try requireValue(otherStart.jobExecution, "the other job")
        var otherStep = try requireValue(otherStart.created, "the other step")
        var stopping = otherJob
        stopping.status = .stopping
        stopping = try await repository.updateJobExecution(stopping)
        otherStep.status = .completed
        otherJob.status = .completed
        let half = try await repository.endStep(otherStep, jobExecution: otherJob)
        try check(half.stepExecution.status == .completed, "the step is stored")
        try check(half.jobExecution == nil, "a stale job is not stored")
        try check(try await repository.jobExecution(id: other.id) == stopping, "the job is as the stop left it")

        // A stale step: nothing is stored.
        try await expectError(.optimisticLock, "a stale step") {
            _ = try await repository.endStep(otherStep, jobExecution: stopping)
        }
        try check(try await repository.jobExecution(id: other.id) == stopping, "the job is unchanged")
    }
}

/// The value, or a ``ContractViolation`` saying what was missing.
func requireValue<T>(_ value: T?, _ what: String) throws -> T {
    guard let value else { throw ContractViolation(description: "missing: \(what)") }
    return value
}
