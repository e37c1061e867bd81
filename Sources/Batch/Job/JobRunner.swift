import Foundation
import Logging

/// Runs one job execution from STARTING to its end: steps in order, skipping those an earlier execution of the
/// instance completed, storing every state change before the next piece of work.
enum JobRunner {
    /// Runs the execution; never throws: whatever happens ends in a stored status (or, when even that fails,
    /// in an attempt to store UNKNOWN).
    static func run(_ run: JobRun) async -> JobExecution {
        await JobObservation.traced(run) { await runUntraced(run) }
    }

    private static func runUntraced(_ run: JobRun) async -> JobExecution {
        let logger = run.logger
        var execution = run.execution
        execution.status = .started
        execution.startTime = Date()
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

        var status = BatchStatus.completed
        var message = ""
        let listenerContext = JobListenerContext(logger: logger, resources: run.resources)
        do {
            for listener in run.job.listeners.job {
                try await callListener(listener, "beforeJob") {
                    try await $0.beforeJob(execution, context: listenerContext)
                }
            }
            (status, message) = try await runSteps(&execution, run)
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

    private static func runSteps(_ execution: inout JobExecution, _ run: JobRun) async throws -> (BatchStatus, String) {
        for step in run.job.steps {
            if try await run.stopSignal.check(executionId: execution.id, repository: run.repository) {
                return (.stopped, "stopped before step '\(step.name)'")
            }
            let previous = try await run.repository.lastStepExecution(
                instanceId: execution.instanceId, stepName: step.name)
            var startContext = previous?.context ?? ExecutionContext()
            if let previous, previous.status == .completed {
                guard step.allowStartIfComplete else {
                    run.logger.info(
                        "step already completed in an earlier execution, skipped",
                        metadata: ["step.name": "\(step.name)"])
                    continue
                }
                run.logger.info(
                    "step completed in an earlier execution runs again (allowStartIfComplete)",
                    metadata: ["step.name": "\(step.name)"])
                startContext = ExecutionContext()
            }
            let result = try await StepRunner.run(
                step, as: step.name, startContext: startContext, in: run,
                listeners: run.job.listeners.merged(with: step.listeners))
            execution.context = run.jobContext.value
            execution = try await persist(execution, run)
            switch result.status {
            case .completed: continue
            case .stopped: return (.stopped, "stopped in step '\(step.name)'")
            default:
                return (.failed, "step '\(step.name)' failed: \(result.exitMessage)")
            }
        }
        return (.completed, "")
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
