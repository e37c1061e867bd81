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
    /// The status last reported to the observer.
    private let reported: Mutex<BatchStatus>

    init(
        execution: JobExecution, job: Job, repository: any JobRepository, stopSignal: StopSignal,
        observer: (any JobExecutionObserver)?, outcomeRetryDeadline: Duration,
        resources: JobResources, logger: Logger, dispatcher: (any RemotePartitionDispatcher)? = nil
    ) {
        self.dispatcher = dispatcher
        self.resources = resources
        self.outcomeRetryDeadline = outcomeRetryDeadline
        self.execution = execution
        self.observer = observer
        self.reported = Mutex(execution.status)
        self.job = job
        self.repository = repository
        self.stopSignal = stopSignal
        self.jobContext = JobContextBox(execution.context)
        self.logger = logger
    }

    /// Tells the observer about `execution` if its status changed since the last report.
    func report(_ execution: JobExecution) async {
        guard let observer else { return }
        let changed = reported.withLock { reported in
            defer { reported = execution.status }
            return reported != execution.status
        }
        if changed { await observer.jobExecutionChanged(execution) }
    }
}
