import Batch
import BatchRabbitMQ
import Logging
import ServiceLifecycle

/// Publishes every job execution state change to an ``EventSink`` (`batch.events`), in order, without holding up
/// the job: the engine's observer callback only queues the change; this service publishes it.
///
/// Events are a notification, not the record: the database is the truth. An event that cannot be published
/// (the broker is away longer than the connection's retries) is logged and dropped. On graceful shutdown it
/// publishes what is queued, for at most ``flushLimit``; on cancellation it leaves at once.
final class EventPublisher: JobExecutionObserver, StepProgressObserver, Service {
    private let sink: any EventSink
    private let logger: Logger
    private let stream: AsyncStream<Change>
    private let continuation: AsyncStream<Change>.Continuation

    /// What is queued: a job execution's state change, or a running step's progress (`progress.<job>`).
    private enum Change: Sendable {
        case execution(JobExecution)
        case progress(StepProgress)
    }
    /// Told of every change too (the worker's capacity accounting).
    private let onChange: @Sendable (JobExecution) -> Void

    /// The longest a graceful shutdown waits for queued events to be published.
    static let flushLimit = Duration.seconds(2)

    init(sink: any EventSink, logger: Logger, onChange: @escaping @Sendable (JobExecution) -> Void) {
        self.sink = sink
        self.logger = logger
        self.onChange = onChange
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    func jobExecutionChanged(_ execution: JobExecution) async {
        onChange(execution)
        continuation.yield(.execution(execution))
    }

    func stepProgressed(_ progress: StepProgress) {
        continuation.yield(.progress(progress))
    }

    /// Publishes changes until a graceful shutdown (then what is queued) or cancellation.
    func run() async {
        let expired = ShutdownFlag()
        await withGracefulShutdownHandler {
            // The loop runs in a task of its own: a broker that stopped answering cannot hold the service past its
            // flush limit or its cancellation.
            _ = await Deadline.run(unless: expired) {
                for await change in self.stream {
                    switch change {
                    case .execution(let execution): await self.publish(execution)
                    case .progress(let progress): await self.publish(progress)
                    }
                }
            }
        } onGracefulShutdown: {
            self.continuation.finish()
            Task {
                try? await Task.sleep(for: Self.flushLimit)
                expired.request()
            }
        }
    }

    private func publish(_ progress: StepProgress) async {
        do {
            try await sink.publish(progress)
        } catch {
            logger.debug(
                "could not publish a progress event",
                metadata: ["job.execution.id": "\(progress.executionId)", "error": "\(error)"])
        }
    }

    private func publish(_ execution: JobExecution) async {
        let event = Event(
            executionId: execution.id, jobName: execution.jobName, instanceId: execution.instanceId,
            status: execution.status, exitMessage: execution.exitMessage.isEmpty ? nil : execution.exitMessage,
            time: execution.lastUpdated)
        do {
            try await sink.publish(event)
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
