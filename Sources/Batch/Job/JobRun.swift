import Logging
import Synchronization

/// Everything the steps of one running job execution share.
final class JobRun: Sendable {
    let execution: JobExecution
    let job: Job
    let repository: any JobRepository
    let stopSignal: StopSignal
    let jobContext: JobContextBox
    let observer: (any JobExecutionObserver)?
    let logger: Logger
    /// The operator's resources with the job's laid over them.
    let resources: JobResources
    /// How long to keep trying to store an outcome while the store is unreachable.
    let outcomeRetryDeadline: Duration
    /// Where remote partition steps send their partitions; nil: they run locally.
    let dispatcher: (any RemotePartitionDispatcher)?
    /// Where metrics, spans and progress go.
    let observability: BatchObservability
    /// The status last reported (logged, counted, told to the observer); nil before the first.
    private let reported: Mutex<BatchStatus?>

    init(
        execution: JobExecution, job: Job, repository: any JobRepository, stopSignal: StopSignal,
        observer: (any JobExecutionObserver)?, outcomeRetryDeadline: Duration,
        resources: JobResources, logger: Logger, observability: BatchObservability = .global,
        dispatcher: (any RemotePartitionDispatcher)? = nil
    ) {
        self.observability = observability
        self.dispatcher = dispatcher
        self.resources = resources
        self.outcomeRetryDeadline = outcomeRetryDeadline
        self.execution = execution
        self.observer = observer
        self.reported = Mutex(nil)
        self.job = job
        self.repository = repository
        self.stopSignal = stopSignal
        self.jobContext = JobContextBox(execution.context)
        self.logger = logger
    }

    /// When `execution`'s status changed since the last report: logs the change (one line, at info; error for a
    /// failure), counts a final status in `batch_job_executions_total`, and tells the observer.
    func report(_ execution: JobExecution) async {
        let changed = reported.withLock { reported in
            defer { reported = execution.status }
            return reported != execution.status
        }
        guard changed else { return }
        JobObservation.changed(execution, logger: logger, metrics: observability.metrics)
        await observer?.jobExecutionChanged(execution)
    }
}
