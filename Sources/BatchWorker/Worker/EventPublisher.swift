import Batch
import BatchRabbitMQ
import Logging
import ServiceLifecycle
import Synchronization

/// Publishes every job execution state change to an ``EventSink`` (`batch.events`), in order, without holding up
/// the job: the engine's observer callback only queues the change; this service publishes it.
///
/// What queued up while the last publish waited for its confirms goes out together, as one batch
/// (the sink's `publish(_ events:)`): under load, many jobs' changes cost one hand-over to the broker connection
/// and one wake-up back, not one each.
///
/// Events are a notification, not the record: the database is the truth. An event that cannot be published
/// (the broker is away longer than the connection's retries) is logged and dropped. On graceful shutdown it
/// publishes what is queued, for at most ``flushLimit``; on cancellation it leaves at once.
final class EventPublisher: JobExecutionObserver, StepProgressObserver, Service {
    private let sink: any EventSink
    private let logger: Logger
    private let queue = ChangeQueue()

    /// What is queued: a job execution's state change, or a running step's progress (`progress.<job>`).
    enum Change: Sendable {
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
    }

    func jobExecutionChanged(_ execution: JobExecution) async {
        onChange(execution)
        queue.append(.execution(execution))
    }

    func stepProgressed(_ progress: StepProgress) {
        queue.append(.progress(progress))
    }

    /// Publishes changes until a graceful shutdown (then what is queued) or cancellation.
    func run() async {
        let expired = ShutdownFlag()
        await withGracefulShutdownHandler {
            // The loop runs in a task of its own: a broker that stopped answering cannot hold the service past its
            // flush limit or its cancellation.
            _ = await Deadline.run(unless: expired) {
                while let batch = await self.queue.next() {
                    await self.publish(batch)
                }
            }
        } onGracefulShutdown: {
            self.queue.finish()
            Task {
                try? await Task.sleep(for: Self.flushLimit)
                expired.request()
            }
        }
    }

    /// Publishes a batch in order: the execution changes between two progress reports together.
    private func publish(_ batch: [Change]) async {
        var executions: [JobExecution] = []
        for change in batch {
            switch change {
            case .execution(let execution):
                executions.append(execution)
            case .progress(let progress):
                await publish(executions)
                executions.removeAll()
                await publish(progress)
            }
        }
        await publish(executions)
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

    private func publish(_ executions: [JobExecution]) async {
        guard !executions.isEmpty else { return }
        let events = executions.map { execution in
            Event(
                executionId: execution.id, jobName: execution.jobName, instanceId: execution.instanceId,
                status: execution.status, exitMessage: execution.exitMessage.isEmpty ? nil : execution.exitMessage,
                time: execution.lastUpdated)
        }
        let outcomes = await sink.publish(events)
        for (execution, outcome) in zip(executions, outcomes) {
            guard let error = outcome else { continue }
            logger.warning(
                "could not publish an event",
                metadata: [
                    "job.execution.id": "\(execution.id)", "status": "\(execution.status.rawValue)",
                    "error": "\(error)",
                ])
        }
    }
}

extension EventPublisher {
    /// The changes waiting to be published: appended from any task, taken all at once by the publishing loop.
    final class ChangeQueue: Sendable {
        private struct State {
            var changes: [Change] = []
            var waiter: CheckedContinuation<Void, Never>?
            var finished = false
        }
        private let state = Mutex(State())

        /// Queues a change, unless the queue is finished.
        func append(_ change: Change) {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard !state.finished else { return nil }
                state.changes.append(change)
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        /// Takes no more changes; ``next()`` hands out what is queued, then `nil`.
        func finish() {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.finished = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        /// Everything queued, waiting for a change when there is none; `nil` once finished and empty, or when the
        /// calling task is cancelled (the queue is finished then).
        func next() async -> [Change]? {
            while true {
                let taken = state.withLock { state -> [Change]?? in
                    if !state.changes.isEmpty {
                        defer { state.changes.removeAll(keepingCapacity: true) }
                        return .some(state.changes)
                    }
                    return state.finished ? .some(nil) : nil
                }
                if let taken { return taken }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let ready = state.withLock { state -> Bool in
                            if !state.changes.isEmpty || state.finished { return true }
                            state.waiter = continuation
                            return false
                        }
                        if ready { continuation.resume() }
                    }
                } onCancel: {
                    finish()
                }
            }
        }
    }
}
