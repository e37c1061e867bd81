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
