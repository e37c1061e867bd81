import Logging

/// Everything the steps of one running job execution share.
final class JobRun: Sendable {
    let execution: JobExecution
    let job: Job
    let repository: any JobRepository
    let stopSignal: StopSignal
    let jobContext: JobContextBox
    let logger: Logger

    init(execution: JobExecution, job: Job, repository: any JobRepository, stopSignal: StopSignal, logger: Logger) {
        self.execution = execution
        self.job = job
        self.repository = repository
        self.stopSignal = stopSignal
        self.jobContext = JobContextBox(execution.context)
        self.logger = logger
    }
}
