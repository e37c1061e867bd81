import Batch
import BatchRabbitMQ
import BatchWorker
import Synchronization

/// An ``EventSink`` in memory, the twin of the events and control exchanges for tests: records every event and
/// every broadcast, and hands broadcasts to the control sources given (as the control exchange reaches every
/// worker).
public final class InMemoryEventSink: EventSink {
    private struct State {
        var events: [Event] = []
        var broadcasts: [Command] = []
        var failure: (any Error)?
    }

    private let state = Mutex(State())
    private let control: [InMemoryCommandSource]
    /// The partitions queue's twin: where ``sendPartitions(_:)`` enqueues.
    public let partitions: InMemoryCommandSource?

    /// Creates a sink.
    /// - Parameters:
    ///   - control: the workers' control sources every broadcast is enqueued in.
    ///   - partitions: the source partitions are sent to (the workers' shared partitions queue), if any.
    public init(control: [InMemoryCommandSource] = [], partitions: InMemoryCommandSource? = nil) {
        self.control = control
        self.partitions = partitions
    }

    /// Every event published, in order.
    public var events: [Event] { state.withLock { $0.events } }
    /// Every command broadcast, in order.
    public var broadcasts: [Command] { state.withLock { $0.broadcasts } }
    /// The statuses published for one execution, in order.
    public func statuses(of executionId: Int64) -> [BatchStatus] {
        events.filter { $0.executionId == executionId }.map(\.status)
    }

    /// Makes every later publish and broadcast throw `error` (a broker away), or succeed again with `nil`.
    public func fail(with error: (any Error)?) { state.withLock { $0.failure = error } }

    /// Records the event.
    public func publish(_ event: Event) async throws {
        try state.withLock { state in
            if let failure = state.failure { throw failure }
            state.events.append(event)
        }
    }

    /// Records the command and enqueues it in every control source, without asking for an answer.
    public func broadcast(_ command: Command) async throws {
        try state.withLock { state in
            if let failure = state.failure { throw failure }
            state.broadcasts.append(command)
        }
        for source in control { source.enqueue(command, wantsReply: false) }
    }

    /// Enqueues each partition command in ``partitions``, if set.
    public func sendPartitions(_ partitions: [Command]) async throws {
        if let failure = state.withLock({ $0.failure }) { throw failure }
        for command in partitions { self.partitions?.enqueue(command, wantsReply: false) }
    }
}
