import Synchronization

/// The deliveries a consumer has received and its reader has not yet taken, and the readers waiting for one.
///
/// The I/O thread pushes; the consumer's `AsyncIterator` takes. The broker's prefetch bounds how many are held.
final class DeliveryBuffer: Sendable {
    private struct State {
        var items: [AMQPDelivery] = []
        var head = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<AMQPDelivery?, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var finished = false

        mutating func takeFirst() -> AMQPDelivery? {
            guard head < items.count else { return nil }
            let item = items[head]
            head += 1
            if head > 64 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return item
        }
    }

    private let state = Mutex(State())

    /// Hands a delivery to a waiting reader, or keeps it.
    func push(_ delivery: AMQPDelivery) {
        let waiter = state.withLock { state -> CheckedContinuation<AMQPDelivery?, any Error>? in
            guard !state.finished else { return nil }
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.items.append(delivery)
            return nil
        }
        waiter?.resume(returning: delivery)
    }

    /// The next delivery; `nil` once the consumer is cancelled or the connection closed.
    ///
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    func next() async throws -> AMQPDelivery? {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let immediate = state.withLock { state -> Result<AMQPDelivery?, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let item = state.takeFirst() { return .success(item) }
                    if state.finished { return .success(nil) }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<AMQPDelivery?, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Takes every delivery not yet read (to requeue them when the consumer pauses).
    func drain() -> [AMQPDelivery] {
        state.withLock { state in
            let items = Array(state.items[state.head...])
            state.items.removeAll()
            state.head = 0
            return items
        }
    }

    /// Forgets the deliveries not yet read: their channel is gone and the broker has requeued them.
    func discardAll() {
        _ = drain()
    }

    /// Ends the sequence: readers get `nil` once the buffered deliveries are read.
    func finish() {
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }
}
