import Synchronization

/// A message to publish, with where it goes: one element of ``AMQPConnection/publish(_:)``.
public struct AMQPPublication: Sendable {
    /// The body and properties.
    public var message: AMQPMessage
    /// The exchange; `""` is the default exchange.
    public var exchange: String
    /// The routing key.
    public var routingKey: String
    /// Whether a message no queue takes is an error rather than dropped.
    public var mandatory: Bool

    /// A message for `exchange` with `routingKey`.
    public init(_ message: AMQPMessage, exchange: String, routingKey: String, mandatory: Bool = false) {
        self.message = message
        self.exchange = exchange
        self.routingKey = routingKey
        self.mandatory = mandatory
    }
}

extension AMQPConnection {
    /// Publishes `publications` in order and returns once the broker has confirmed or refused every one.
    ///
    /// The same as publishing them one after another, without waiting for each confirm before the next: the I/O
    /// thread takes them in one hand-over and the caller is resumed once, so a burst of small messages costs one
    /// wake-up each way instead of one per message.
    ///
    /// - Returns: for each publication, in order, `nil` when the broker confirmed it, else why not (an
    ///   ``AMQPError`` as ``publish(_:exchange:routingKey:mandatory:)`` throws).
    public func publish(_ publications: [AMQPPublication]) async -> [(any Error)?] {
        guard !publications.isEmpty else { return [] }
        return await withCheckedContinuation { (continuation: CheckedContinuation<[(any Error)?], Never>) in
            let outcomes = PublishOutcomes(count: publications.count, continuation: continuation)
            let operations = publications.enumerated().map { index, publication in
                LoopOperation.publish(
                    PendingPublish(
                        exchange: publication.exchange, routingKey: publication.routingKey,
                        mandatory: publication.mandatory, message: publication.message
                    ) { error in outcomes.settle(index, error) })
            }
            if !inbox.enqueue(contentsOf: operations) {
                for index in publications.indices {
                    outcomes.settle(index, AMQPError(.closed, "the connection is closed"))
                }
            }
        }
    }
}

/// Collects a batch's outcomes and resumes its publisher when the last one is in.
private final class PublishOutcomes: Sendable {
    private let state: Mutex<(remaining: Int, errors: [(any Error)?])>
    private let continuation: CheckedContinuation<[(any Error)?], Never>

    init(count: Int, continuation: CheckedContinuation<[(any Error)?], Never>) {
        state = Mutex((count, Array(repeating: nil, count: count)))
        self.continuation = continuation
    }

    func settle(_ index: Int, _ error: (any Error)?) {
        let finished = state.withLock { state -> [(any Error)?]? in
            state.errors[index] = error
            state.remaining -= 1
            return state.remaining == 0 ? state.errors : nil
        }
        if let finished { continuation.resume(returning: finished) }
    }
}
