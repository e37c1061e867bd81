import CoreMetrics
import Logging
import Tracing

/// What the engine logs, counts and traces for a job execution as a whole.
enum JobObservation {
    /// Logs a stored status change (the logger carries the job, execution, instance and worker ids) and counts a
    /// final status.
    static func changed(_ execution: JobExecution, logger: Logger, metrics: any MetricsFactory) {
        let status = execution.status
        var metadata: Logger.Metadata = [:]
        if !execution.exitMessage.isEmpty { metadata["reason"] = "\(execution.exitMessage)" }
        switch status {
        case .failed, .unknown: logger.error("job \(status.rawValue)", metadata: metadata)
        default: logger.info("job \(status.rawValue)", metadata: metadata)
        }
        guard status.isFinished else { return }
        metrics.makeCounter(
            label: BatchMetricName.jobExecutions,
            dimensions: [
                (BatchMetricName.Label.job, execution.jobName), (BatchMetricName.Label.status, status.rawValue),
            ]
        ).increment(by: 1)
    }

    /// Runs a job execution in its `batch.job` span.
    static func traced(_ run: JobRun, _ body: () async -> JobExecution) async -> JobExecution {
        let tracer = run.observability.resolvedTracer
        if tracer is NoOpTracer { return await body() }
        return await tracer.withSpan(BatchSpan.job, ofKind: .internal) { span in
            span.attributes[BatchSpan.jobName] = run.execution.jobName
            span.attributes[BatchSpan.executionId] = run.execution.id
            span.attributes[BatchSpan.instanceId] = run.execution.instanceId
            let result = await body()
            span.attributes[BatchSpan.status] = result.status.rawValue
            if result.status != .completed, result.status != .stopped {
                BatchSpan.fail(span, message: result.exitMessage.isEmpty ? result.status.rawValue : result.exitMessage)
            }
            return result
        }
    }

    /// Runs a step execution in its `batch.step` span (nil with the no-op tracer); `body` sets the step
    /// execution's id and outcome on it (``stepCreated(_:_:)``, ``stepEnded(_:_:)``).
    static func tracedStep(
        _ run: JobRun, stepName: String, partition: String?, _ body: ((any Span)?) async throws -> StepExecution
    ) async throws -> StepExecution {
        let tracer = run.observability.resolvedTracer
        if tracer is NoOpTracer { return try await body(nil) }
        return try await tracer.withSpan(BatchSpan.step, ofKind: .internal) { span in
            span.attributes[BatchSpan.stepName] = stepName
            span.attributes[BatchSpan.executionId] = run.execution.id
            if let partition { span.attributes[BatchSpan.partition] = partition }
            return try await body(span)
        }
    }

    /// Names the step execution on its span.
    static func stepCreated(_ span: (any Span)?, _ execution: StepExecution) {
        span?.attributes[BatchSpan.stepExecutionId] = execution.id
    }

    /// Records a step execution's outcome on its span: its status, and the error when it failed.
    static func stepEnded(_ span: (any Span)?, _ execution: StepExecution, error: (any Error)?) {
        guard let span else { return }
        span.attributes[BatchSpan.status] = execution.status.rawValue
        if execution.status == .failed || execution.status == .unknown {
            BatchSpan.fail(span, message: execution.exitMessage, error: error)
        }
    }
}
