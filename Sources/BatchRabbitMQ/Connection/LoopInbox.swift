import Logging
import Synchronization

/// The part of a connection other threads touch: the operations queued for its I/O thread, and the pipe that wakes
/// that thread. Everything else lives in the ``ConnectionLoop``, which only the I/O thread holds.
///
/// Plainly `Sendable`: the queue is behind a mutex, and the rest is immutable.
final class LoopInbox: Sendable {
    /// Where and how the connection connects.
    let configuration: AMQPConfiguration
    /// Where the connection logs (tagged with the broker's redacted URL).
    let logger: Logger
    /// Wakes the I/O thread when work is queued.
    let wakeup: WakeupSignal

    private struct State {
        var operations: [LoopOperation] = []
        var closed = false
    }
    private let state = Mutex(State())

    /// - Throws: ``AMQPError`` when the wake-up pipe cannot be created.
    init(configuration: AMQPConfiguration, logger: Logger) throws {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "amqp.broker"] = "\(configuration.redactedURL)"
        self.logger = logger
        self.wakeup = try WakeupSignal()
    }

    /// Queues an operation for the I/O thread. Returns `false` when the connection is closed (the operation is not
    /// taken; the caller fails it).
    @discardableResult
    func enqueue(_ operation: LoopOperation) -> Bool {
        enqueue(contentsOf: CollectionOfOne(operation))
    }

    /// Queues `operations` together, in order, waking the I/O thread at most once. Returns `false` (queuing
    /// nothing) once the inbox is closed.
    @discardableResult
    func enqueue(contentsOf operations: some Collection<LoopOperation>) -> Bool {
        let (accepted, wasEmpty) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (false, false) }
            let wasEmpty = state.operations.isEmpty
            state.operations.append(contentsOf: operations)
            return (true, wasEmpty)
        }
        if wasEmpty && !operations.isEmpty { wakeup.signal() }
        return accepted
    }

    /// Moves the queued operations into `taken` (which the I/O thread passes in empty, keeping its capacity).
    func take(into taken: inout [LoopOperation]) {
        state.withLock { swap(&$0.operations, &taken) }
    }

    /// Refuses every further operation; returns those still queued.
    func close() -> [LoopOperation] {
        state.withLock { state in
            state.closed = true
            defer { state.operations.removeAll() }
            return state.operations
        }
    }

    /// Runs `body` on the I/O thread (once connected, unless `requiresConnection` is `false`) and returns its result.
    func perform<T: Sendable>(
        requiresConnection: Bool = true, _ body: @escaping @Sendable (ConnectionLoop) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let task = LoopTask(
                requiresConnection: requiresConnection,
                run: { loop in continuation.resume(with: Result { try body(loop) }) },
                fail: { error in continuation.resume(throwing: error) })
            if !enqueue(.task(task)) { continuation.resume(throwing: AMQPError(.closed, "the connection is closed")) }
        }
    }
}
