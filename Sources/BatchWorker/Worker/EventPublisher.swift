import Batch
import BatchRabbitMQ
import Logging

/// Publishes every job execution state change to `batch.events`, in order, without holding up the job: the
/// engine's observer callback only queues the change; a task of the worker's publishes it (with confirms).
///
/// Events are a notification, not the record: the database is the truth. An event that cannot be published
/// (the broker is away longer than the connection's retries) is logged and dropped.
final class EventPublisher: JobExecutionObserver {
    private let messaging: BatchMessaging
    private let logger: Logger
    private let stream: AsyncStream<JobExecution>
    private let continuation: AsyncStream<JobExecution>.Continuation
    /// Told of every change too (the worker's capacity accounting).
    private let onChange: @Sendable (JobExecution) -> Void

    init(messaging: BatchMessaging, logger: Logger, onChange: @escaping @Sendable (JobExecution) -> Void) {
        self.messaging = messaging
        self.logger = logger
        self.onChange = onChange
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    func jobExecutionChanged(_ execution: JobExecution) async {
        onChange(execution)
        continuation.yield(execution)
    }

    /// Publishes changes until ``finish()`` is called and the queue is drained.
    func run() async {
        for await execution in stream {
            let event = Event(
                executionId: execution.id, jobName: execution.jobName, instanceId: execution.instanceId,
                status: execution.status, exitMessage: execution.exitMessage.isEmpty ? nil : execution.exitMessage,
                time: execution.lastUpdated)
            do {
                try await messaging.publish(event)
            } catch {
                logger.warning(
                    "could not publish an event",
                    metadata: [
                        "job.execution.id": "\(execution.id)", "status": "\(execution.status.rawValue)",
                        "error": "\(error)",
                    ])
            }
        }
    }

    /// Ends the stream once what is queued is published.
    func finish() { continuation.finish() }
}
