import Batch
import BatchRabbitMQ
import BatchWorker
import Synchronization
import Tracing

/// A ``CommandSource`` in memory, the twin of the commands queue for tests: enqueue commands (or raw bodies), run a
/// ``Worker`` on it, and observe how each was settled (acked, dead-lettered with its reason, retried with its
/// count, requeued), what was answered, and whether the source was paused.
///
/// A retried delivery comes back after its delay with its new count, as through the retry queue; a requeued one
/// comes back at once, at the head of the queue.
public final class InMemoryCommandSource: CommandSource {
    /// How a delivery was settled.
    public enum Settlement: Sendable, Hashable {
        /// Acked: accepted, or refused by the rules.
        case acked
        /// Dead-lettered with this reason.
        case deadLettered(String)
        /// Sent back for another attempt with this count, after this delay.
        case retried(CommandAttempts, after: Duration)
        /// Handed back untouched.
        case requeued
    }

    private struct State {
        var queue: [Delivery] = []
        var all: [Delivery] = []
        var paused = false
        var pauses = 0
        var resumes = 0
        var cancelled = false
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?

        mutating func takeWaiter() -> CheckedContinuation<Void, Never>? {
            defer { waiter = nil }
            return waiter
        }
    }

    private let state = Mutex(State())

    /// Creates an empty source.
    public init() {}

    /// Puts a command at the end of the queue.
    /// - Parameters:
    ///   - command: the command.
    ///   - attempts: its count of earlier attempts (as its headers would carry).
    ///   - wantsReply: whether it asks for an answer (has `reply_to`).
    ///   - traceContext: the trace context it carries, as its sender's headers would.
    /// - Returns: the delivery, to observe.
    @discardableResult
    public func enqueue(
        _ command: Command, attempts: CommandAttempts = CommandAttempts(), wantsReply: Bool = true,
        traceContext: ServiceContext? = nil
    ) -> Delivery {
        enqueue(
            body: command.body, headers: command.headers, attempts: attempts, wantsReply: wantsReply,
            traceContext: traceContext)
    }

    /// Puts a raw body at the end of the queue (bad input: not JSON, an unknown command, ...).
    @discardableResult
    public func enqueue(body: String, wantsReply: Bool = true) -> Delivery {
        enqueue(body: Array(body.utf8), attempts: CommandAttempts(), wantsReply: wantsReply)
    }

    private func enqueue(
        body: [UInt8], headers: [String: AMQPFieldValue] = [:], attempts: CommandAttempts, wantsReply: Bool,
        traceContext: ServiceContext? = nil
    ) -> Delivery {
        let delivery = Delivery(
            body: body, headers: headers, attempts: attempts, wantsReply: wantsReply, traceContext: traceContext,
            source: self)
        let waiter = state.withLock { state in
            state.queue.append(delivery)
            state.all.append(delivery)
            return state.takeWaiter()
        }
        waiter?.resume()
        return delivery
    }

    /// Every delivery enqueued so far (retried copies included), in order.
    public var deliveries: [Delivery] { state.withLock { $0.all } }
    /// How many deliveries wait in the queue.
    public var pendingCount: Int { state.withLock { $0.queue.count } }
    /// Whether the source is paused now.
    public var isPaused: Bool { state.withLock { $0.paused } }
    /// How often ``pause()`` was called.
    public var pauseCount: Int { state.withLock { $0.pauses } }
    /// How often ``resume()`` was called.
    public var resumeCount: Int { state.withLock { $0.resumes } }
    /// Whether ``cancel()`` or ``close()`` was called.
    public var isCancelled: Bool { state.withLock { $0.cancelled } }
    /// Whether ``close()`` was called.
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// The first delivery in the queue, waiting for one while the queue is empty or paused; `nil` once cancelled.
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    public func next() async throws -> (any CommandDelivery)? {
        while true {
            try Task.checkCancellation()
            let taken = state.withLock { state -> Delivery?? in
                if state.cancelled { return .some(nil) }
                if !state.paused, !state.queue.isEmpty { return .some(state.queue.removeFirst()) }
                return nil
            }
            if let taken { return taken }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        if state.cancelled || (!state.paused && !state.queue.isEmpty) || Task.isCancelled {
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                state.withLock { $0.takeWaiter() }?.resume()
            }
        }
    }

    /// Stops handing out deliveries until ``resume()``.
    public func pause() async throws {
        state.withLock { state in
            state.paused = true
            state.pauses += 1
        }
    }

    /// Hands out deliveries again.
    public func resume() async throws {
        let waiter = state.withLock { state in
            state.paused = false
            state.resumes += 1
            return state.takeWaiter()
        }
        waiter?.resume()
    }

    /// Ends the source: ``next()`` returns `nil`.
    public func cancel() async throws {
        state.withLock { state in
            state.cancelled = true
            return state.takeWaiter()
        }?.resume()
    }

    /// Ends the source and hands back every delivery taken but not settled (marked ``Settlement/requeued``).
    public func close() async throws {
        try await cancel()
        let unsettled = state.withLock { state in
            state.closed = true
            return state.all.filter { $0.settlement == nil && !state.queue.contains($0) }
        }
        for delivery in unsettled { try? await delivery.requeue() }
    }

    fileprivate func putBack(_ delivery: Delivery, atHead: Bool) {
        let waiter = state.withLock { state in
            if atHead { state.queue.insert(delivery, at: 0) } else { state.queue.append(delivery) }
            if !state.all.contains(delivery) { state.all.append(delivery) }
            return state.takeWaiter()
        }
        waiter?.resume()
    }

    /// One command in the source, with how it was settled and what it was answered.
    public final class Delivery: CommandDelivery, Hashable {
        /// The body as received.
        public let body: [UInt8]
        /// The headers it carries (a command's ``Command/headers``).
        public let headers: [String: AMQPFieldValue]
        /// Its count of earlier attempts.
        public let attempts: CommandAttempts
        /// Whether it asks for an answer.
        public let wantsReply: Bool
        private weak let source: InMemoryCommandSource?
        private let settled = Mutex<Settlement?>(nil)
        private let answers = Mutex<[Reply]>([])
        /// The trace context it carries, if any.
        public let carriedTraceContext: ServiceContext?

        init(
            body: [UInt8], headers: [String: AMQPFieldValue], attempts: CommandAttempts, wantsReply: Bool,
            traceContext: ServiceContext? = nil, source: InMemoryCommandSource
        ) {
            self.body = body
            self.headers = headers
            self.attempts = attempts
            self.wantsReply = wantsReply
            self.carriedTraceContext = traceContext
            self.source = source
        }

        /// The trace context it carries (``carriedTraceContext``).
        public func traceContext(using instrument: any Instrument) -> ServiceContext? { carriedTraceContext }

        /// How it was settled, if it was.
        public var settlement: Settlement? { settled.withLock { $0 } }
        /// The answers sent to it (an answer is only sent when ``wantsReply``).
        public var replies: [Reply] { answers.withLock { $0 } }

        /// The command it holds.
        public func command() throws -> Command { try Command.decodingDelivery(body, headers: headers) }

        /// Records the ack.
        public func ack() async throws { try settle(.acked) }

        /// Records the dead letter and its reason.
        public func deadLetter(reason: String) async throws { try settle(.deadLettered(reason)) }

        /// Records the retry; a copy with the new count comes back after `delay`.
        public func retry(attempts: CommandAttempts, after delay: Duration) async throws {
            try settle(.retried(attempts, after: delay))
            guard let source else { return }
            let copy = Delivery(
                body: body, headers: headers, attempts: attempts, wantsReply: wantsReply,
                traceContext: carriedTraceContext, source: source)
            Task {
                try? await Task.sleep(for: delay)
                source.putBack(copy, atHead: false)
            }
        }

        /// Records the requeue; it comes back at the head of the queue.
        public func requeue() async throws {
            try settle(.requeued)
            guard let source else { return }
            source.putBack(
                Delivery(
                    body: body, headers: headers, attempts: attempts, wantsReply: wantsReply,
                    traceContext: carriedTraceContext, source: source), atHead: true)
        }

        /// Records the answer when one was asked for.
        public func reply(_ reply: Reply) async throws {
            guard wantsReply else { return }
            answers.withLock { $0.append(reply) }
        }

        private func settle(_ settlement: Settlement) throws {
            try settled.withLock { current in
                if let current {
                    throw BatchError(.invalidState, "the delivery was already settled: \(current)")
                }
                current = settlement
            }
        }

        /// Identity.
        public static func == (lhs: Delivery, rhs: Delivery) -> Bool { lhs === rhs }
        /// Identity.
        public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    }
}
