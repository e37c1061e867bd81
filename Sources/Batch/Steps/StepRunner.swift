import Foundation
import Tracing

/// Runs one step execution: creates and stores it, calls the listeners around the step's work, and stores the
/// outcome. Every state change is stored before the next piece of work begins.
enum StepRunner {
    /// Runs `step` as the step execution `stepName`, starting from `startContext`.
    /// - Returns: the stored final step execution.
    /// - Throws: only when the repository cannot store the step execution (the truth could not be recorded).
    static func run(
        _ step: any JobStep, as stepName: String, partition: String? = nil, startContext: ExecutionContext,
        in run: JobRun, listeners: Listeners
    ) async throws -> StepExecution {
        try await JobObservation.tracedStep(run, stepName: stepName, partition: partition) { span in
            try await self.run(
                step, as: stepName, partition: partition, startContext: startContext, in: run, listeners: listeners,
                span: span)
        }
    }

    /// Runs `step` as the step execution `created` (made by ``JobRepository/startStep(_:)``, STARTED when no
    /// listener runs before the work); `ending` gives the job execution to store with the step's outcome
    /// (``JobRepository/endStep(_:jobExecution:)``), or nil to store the outcome alone.
    /// - Returns: the stored final step execution, and the job execution stored with it (nil when none was, or it
    ///   could not be: the caller stores it then).
    static func run(
        _ step: any JobStep, created: StepExecution, in run: JobRun, listeners: Listeners,
        ending: (StepExecution) -> JobExecution?
    ) async throws -> (step: StepExecution, job: JobExecution?) {
        var job: JobExecution?
        let final = try await JobObservation.tracedStep(run, stepName: created.stepName, partition: nil) { span in
            let ended = try await execute(
                step, created, partition: nil, in: run, listeners: listeners, span: span, ending: ending)
            job = ended.job
            return ended.step
        }
        return (final, job)
    }

    private static func run(
        _ step: any JobStep, as stepName: String, partition: String?, startContext: ExecutionContext,
        in run: JobRun, listeners: Listeners, span: (any Span)?
    ) async throws -> StepExecution {
        let now = Date()
        let created = try await run.repository.createStepExecution(
            StepExecution(
                jobExecutionId: run.execution.id, stepName: stepName, startTime: now, lastUpdated: now,
                context: startContext))
        return try await execute(
            step, created, partition: partition, in: run, listeners: listeners, span: span, ending: { _ in nil }
        ).step
    }

    /// Runs `step` as the stored step execution `created` (a remote partition a worker claimed), from its context.
    /// - Returns: the stored final step execution.
    /// - Throws: only when the repository cannot store the step execution.
    static func execute(
        _ step: any JobStep, as created: StepExecution, partition: String?, in run: JobRun, listeners: Listeners
    ) async throws -> StepExecution {
        try await JobObservation.tracedStep(run, stepName: created.stepName, partition: partition) { span in
            try await execute(
                step, created, partition: partition, in: run, listeners: listeners, span: span, ending: { _ in nil }
            ).step
        }
    }

    private static func execute(
        _ step: any JobStep, _ created: StepExecution, partition: String?, in run: JobRun, listeners: Listeners,
        span: (any Span)?, ending: (StepExecution) -> JobExecution?
    ) async throws -> (step: StepExecution, job: JobExecution?) {
        let stepName = created.stepName
        let context = StepContext(
            job: run.execution, stepExecution: created, partitionName: partition, jobContext: run.jobContext,
            repository: run.repository, resources: run.resources, stopSignal: run.stopSignal, logger: run.logger)
        JobObservation.stepCreated(span, created)
        let observation = StepObservation(
            observability: run.observability, jobName: run.execution.jobName, executionId: run.execution.id,
            stepName: stepName, stepExecutionId: created.id,
            metricStep: partition.map { String(stepName.dropLast($0.count + 1)) } ?? stepName)
        let scope = StepScope(
            run: run, execution: created, context: context, listeners: listeners, observation: observation)
        let logger = context.logger
        logger.debug("step starting")

        var status = BatchStatus.failed
        var failure: (any Error)?
        do {
            for listener in listeners.step {
                try await callListener(listener, "beforeStep") {
                    try await $0.beforeStep(scope.execution, context: context)
                }
            }
            if partition != nil {
                for listener in listeners.partition {
                    try await callListener(listener, "beforePartition") {
                        try await $0.beforePartition(scope.execution, context: context)
                    }
                }
            }
            if scope.execution.status != .started {
                scope.execution.status = .started
                scope.execution = try await run.repository.updateStepExecution(scope.execution)
            }
            status = try await step.execute(scope)
        } catch let error as BatchError where error.code == .stopped {
            status = .stopped
            failure = error
        } catch {
            status = .failed
            failure = error
        }

        scope.execution.status = status
        scope.execution.endTime = Date()
        scope.execution.exitCode = status.rawValue
        scope.execution.exitMessage = failure.map { $0.batchDescription } ?? ""
        if partition != nil {
            if let failure, status == .failed {
                for listener in listeners.partition.reversed() {
                    await listener.onPartitionError(failure, execution: scope.execution)
                }
            }
            await callAfter(listeners.partition.reversed(), "afterPartition", scope) {
                try await $0.afterPartition($1, context: context)
            }
        }
        await callAfter(listeners.step.reversed(), "afterStep", scope) { try await $0.afterStep($1, context: context) }

        let outcome = scope.execution
        let job = ending(outcome)
        var storedJob: JobExecution?
        let final = try await StorageRetry.retrying(
            "store the outcome of step '\(stepName)'", deadline: run.outcomeRetryDeadline, logger: logger
        ) {
            guard let job else { return try await run.repository.updateStepExecution(outcome) }
            let ended = try await run.repository.endStep(outcome, jobExecution: job)
            storedJob = ended.jobExecution
            return ended.stepExecution
        }
        JobObservation.stepEnded(span, final, error: failure)
        if final.status == .failed {
            logger.error("step failed", metadata: ["error": "\(final.exitMessage)"])
        } else {
            logger.info(
                "step \(final.status.rawValue.lowercased())",
                metadata: ["read": "\(final.counters.read)", "write": "\(final.counters.write)"])
        }
        return (final, storedJob)
    }

    /// Calls after-listeners; the first error fails the step.
    private static func callAfter<L>(
        _ listeners: ReversedCollection<[L]>, _ what: String, _ scope: StepScope,
        _ body: (L, StepExecution) async throws -> Void
    ) async {
        for listener in listeners {
            do {
                try await callListener(listener, what) { try await body($0, scope.execution) }
            } catch {
                if scope.execution.status != .failed {
                    scope.execution.status = .failed
                    scope.execution.exitCode = BatchStatus.failed.rawValue
                    scope.execution.exitMessage = error.batchDescription
                }
            }
        }
    }
}
