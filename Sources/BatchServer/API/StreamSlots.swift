import Synchronization

/// A bound on the event streams open at once: each holds a queue and a consumer on the broker, so an unbounded
/// number of clients could exhaust the broker and the server. A stream takes a slot for its whole life.
final class StreamSlots: Sendable {
    /// The most streams open at once.
    let limit: Int
    private let open = Mutex(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// Takes a slot; `false` when all are taken.
    func take() -> Bool {
        open.withLock { open in
            guard open < limit else { return false }
            open += 1
            return true
        }
    }

    /// Gives a slot back.
    func give() { open.withLock { $0 = max(0, $0 - 1) } }
}

/// An open event stream's slot and broker subscription, given back exactly once: by the stream's body when it ends,
/// or, when the server drops the response before its body ever ran (the client left before the response's head
/// could be written), when the last reference goes.
final class EventStreamLease: Sendable {
    let subscription: EventSubscription
    private let slots: StreamSlots
    private let released = Mutex(false)

    init(subscription: EventSubscription, slots: StreamSlots) {
        self.subscription = subscription
        self.slots = slots
    }

    /// Closes the subscription (deleting its queue) and frees the slot; later calls do nothing.
    func release() async {
        guard takeRelease() else { return }
        await subscription.close()
        slots.give()
    }

    private func takeRelease() -> Bool {
        released.withLock { released in
            defer { released = true }
            return !released
        }
    }

    deinit {
        guard takeRelease() else { return }
        slots.give()
        let subscription = subscription
        Task { await subscription.close() }
    }
}
