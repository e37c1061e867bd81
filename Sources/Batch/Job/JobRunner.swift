import Foundation
import Logging

/// Runs one job execution from STARTING to its end: steps in order, skipping those an earlier execution of the
/// instance completed, storing every state change before the next piece of work.
enum JobRunner {
    /// Runs the execution; never throws: whatever happens ends in a stored status (or, when even that fails,
    /// in an attempt to store UNKNOWN).
    ///
    /// - Parameter launched: the first step's start when the launch stored it with the execution (see
    ///   ``firstStep(of:)``); the execution is STARTED then.
    static func run(_ run: JobRun, launched: StepStartResult? = nil) async -> JobExecution {
        await JobObservation.traced(run) { await runUntraced(run, launched: launched) }
    }

    /// The first step's start a launch of `job` can store with the execution: nil when job listeners run between
    /// STARTED and the first step, or the job has no steps.
    static func firstStep(of job: Job) -> JobLaunch.FirstStep? {
        guard let first = job.steps.first, job.listeners.job.isEmpty else { return nil }
        return JobLaunch.FirstStep(
            stepName: first.name, status: initialStatus(of: first, in: job), startTime: Date(),
            runsAgainIfComplete: first.allowStartIfComplete)
    }

    private static func runUntraced(_ run: JobRun, launched: StepStartResult?) async -> JobExecution {
        let logger = run.logger
        var execution = run.execution
        execution.status = .started
        execution.startTime = Date()
        // Without job listeners nothing runs between STARTED and the first step: both are stored at once, with the
        // launch itself when the store could.
        var firstStart: StepStartResult?
        if let launched, let started = launched.jobExecution {
            execution = started
            await run.report(execution)
            firstStart = launched
        } else if let first = run.job.steps.first, run.job.listeners.job.isEmpty, !run.stopSignal.isRequested {
            do {
                let started = try await run.repository.startStep(
                    stepStart(first, of: execution, storing: execution, run))
                execution = started.jobExecution ?? execution
                await run.report(execution)
                firstStart = started
            } catch let error as BatchError where error.code == .optimisticLock {
                // Someone changed the execution first (a stop): STARTED is stored the usual way, which reads it.
            } catch {
                logger.error("could not mark the execution STARTED", metadata: ["error": "\(error.batchDescription)"])
                return await finish(execution, status: .failed, message: error.batchDescription, run)
            }
        }
        if firstStart == nil {
            do {
                execution = try await persist(execution, run)
            } catch {
                logger.error("could not mark the execution STARTED", metadata: ["error": "\(error.batchDescription)"])
                return await finish(execution, status: .failed, message: error.batchDescription, run)
            }
            if execution.status != .started {
                // A stop arrived before any work began, or someone else ended the execution.
                return execution.status == .stopping
                    ? await finish(execution, status: .stopped, message: "stopped before the first step", run)
                    : execution
            }
        }

        var status = BatchStatus.completed
        var message = ""
        let listenerContext = JobListenerContext(logger: logger, resources: run.resources)
        do {
            for listener in run.job.listeners.job {
                try await callListener(listener, "beforeJob") {
                    try await $0.beforeJob(execution, context: listenerContext)
                }
            }
            switch try await runSteps(&execution, run, firstStart: firstStart) {
            case .stored(let final): return final
            case .outcome(let ended, let reason): (status, message) = (ended, reason)
            }
        } catch {
            status = .failed
            message = error.batchDescription
        }

        execution.status = status
        execution.exitCode = status.rawValue
        execution.exitMessage = message
        for listener in run.job.listeners.job.reversed() {
            do {
                try await callListener(listener, "afterJob") {
                    try await $0.afterJob(execution, context: listenerContext)
                }
            } catch {
                if execution.status != .failed {
                    execution.status = .failed
                    execution.exitCode = BatchStatus.failed.rawValue
                    execution.exitMessage = error.batchDescription
                }
            }
        }
        return await finish(execution, status: execution.status, message: execution.exitMessage, run)
    }

    /// How the steps ended: with a status for the job still to store, or with the job's outcome stored already
    /// (together with the last step's).
    private enum StepsEnding {
        case outcome(BatchStatus, String)
        case stored(JobExecution)
    }

    private static func runSteps(
        _ execution: inout JobExecution, _ run: JobRun, firstStart: StepStartResult?
    ) async throws -> StepsEnding {
        // Without job listeners nothing runs after the step that ends the job: its outcome and the job's are stored
        // at once.
        let endsWithStep = run.job.listeners.job.isEmpty
        var pendingStart = firstStart
        for (index, step) in run.job.steps.enumerated() {
            let started: StepStartResult
            if let pending = pendingStart {
                started = pending
                pendingStart = nil
            } else {
                if run.stopSignal.isRequested { return .outcome(.stopped, "stopped before step '\(step.name)'") }
                started = try await run.repository.startStep(stepStart(step, of: execution, storing: nil, run))
            }
            guard let created = started.created else {
                if run.stopSignal.observe(started.jobStatus) {
                    return .outcome(.stopped, "stopped before step '\(step.name)'")
                }
                run.logger.info(
                    "step already completed in an earlier execution, skipped", metadata: ["step.name": "\(step.name)"])
                continue
            }
            if started.previous?.status == .completed {
                run.logger.info(
                    "step completed in an earlier execution runs again (allowStartIfComplete)",
                    metadata: ["step.name": "\(step.name)"])
            }
            let endsJob = { (status: BatchStatus) in
                endsWithStep && (status != .completed || index == run.job.steps.count - 1)
            }
            let current = execution
            let (result, stored) = try await StepRunner.run(
                step, created: created, in: run, listeners: run.job.listeners.merged(with: step.listeners)
            ) { outcome in
                var job = current
                job.context = run.jobContext.value
                guard endsJob(outcome.status) else { return job }
                let (status, message) = jobOutcome(after: outcome, step.name)
                job.status = status
                job.exitCode = status.rawValue
                job.exitMessage = message
                job.endTime = Date()
                return job
            }
            if let stored {
                execution = stored
                await run.report(stored)
                if endsJob(result.status) { return .stored(stored) }
            } else {
                execution.context = run.jobContext.value
                execution = try await persist(execution, run)
            }
            if result.status != .completed {
                let (status, message) = jobOutcome(after: result, step.name)
                return .outcome(status, message)
            }
        }
        return .outcome(.completed, "")
    }

    /// The job's status and exit message after a step that ended with `step`'s status: COMPLETED goes on (or
    /// completes the job after the last step), STOPPED and FAILED end the job so.
    private static func jobOutcome(after step: StepExecution, _ name: String) -> (BatchStatus, String) {
        switch step.status {
        case .completed: (.completed, "")
        case .stopped: (.stopped, "stopped in step '\(name)'")
        default: (.failed, "step '\(name)' failed: \(step.exitMessage)")
        }
    }

    /// The start of `step` in `execution`, storing `job` first when given.
    private static func stepStart(
        _ step: any JobStep, of execution: JobExecution, storing job: JobExecution?, _ run: JobRun
    ) -> StepStart {
        StepStart(
            jobExecution: job, jobExecutionId: execution.id, instanceId: execution.instanceId, stepName: step.name,
            status: initialStatus(of: step, in: run.job), startTime: Date(),
            runsAgainIfComplete: step.allowStartIfComplete)
    }

    /// The status a step execution is created with: STARTED when no step listener runs before its work, else
    /// STARTING (STARTED is stored after the listeners).
    private static func initialStatus(of step: any JobStep, in job: Job) -> BatchStatus {
        job.listeners.step.isEmpty && step.listeners.step.isEmpty ? .started : .starting
    }

    /// Stores the final state, retrying a few times; when it cannot be stored, tries to store UNKNOWN.
    private static func finish(
        _ execution: JobExecution, status: BatchStatus, message: String, _ run: JobRun
    ) async
        -> JobExecution
    {
        var final = execution
        final.status = status
        final.exitCode = status.rawValue
        final.exitMessage = message
        final.endTime = Date()
        final.context = run.jobContext.value
        let lastError: any Error
        do {
            let stored = try await StorageRetry.retrying(
                "store the outcome of the job execution", deadline: run.outcomeRetryDeadline, logger: run.logger
            ) { try await persist(final, run) }
            return stored
        } catch {
            lastError = error
        }
        run.logger.critical(
            "could not store the outcome of the job execution; trying UNKNOWN",
            metadata: ["status": "\(status.rawValue)", "error": "\(lastError.batchDescription)"])
        final.status = .unknown
        final.exitCode = BatchStatus.unknown.rawValue
        final.exitMessage = "the outcome (\(status.rawValue)) could not be recorded: \(lastError.batchDescription)"
        return (try? await persist(final, run)) ?? final
    }

    /// Updates the execution; when someone else changed it meanwhile (an operator writing STOPPING), takes their
    /// version and goes on with ours — but never overwrites an execution someone else has ended (marked FAILED
    /// after a lost heartbeat, or ABANDONED).
    static func persist(_ desired: JobExecution, _ run: JobRun) async throws -> JobExecution {
        var attempt = desired
        for _ in 0..<5 {
            do {
                let stored = try await run.repository.updateJobExecution(attempt)
                await run.report(stored)
                return stored
            } catch let error as BatchError where error.code == .optimisticLock {
                guard let stored = try await run.repository.jobExecution(id: attempt.id) else { throw error }
                if !stored.status.isRunning {
                    await run.report(stored)
                    run.logger.warning(
                        "execution was ended by someone else; leaving it as it is",
                        metadata: ["status": "\(stored.status.rawValue)"])
                    run.stopSignal.request()
                    return stored
                }
                if stored.status == .stopping {
                    await run.report(stored)
                    run.stopSignal.request()
                    if attempt.status == .started { attempt.status = .stopping }
                }
                attempt.version = stored.version
            }
        }
        throw BatchError(.optimisticLock, "job execution \(desired.id) kept changing under us; giving up")
    }
}
