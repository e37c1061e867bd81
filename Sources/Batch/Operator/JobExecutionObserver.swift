/// Learns of every job execution state change, just after it is stored: STARTING when an execution is created,
/// STARTED, STOPPING, and the final status. The worker publishes them as events (`batch.events`).
///
/// Called in order for one execution, on the task that made the change: return quickly (queue the work).
public protocol JobExecutionObserver: Sendable {
    /// The execution, as stored, whose status just changed.
    func jobExecutionChanged(_ execution: JobExecution) async
}
