import Synchronization

/// One dead-letter scan at a time in a process, in arrival order: a scan holds the messages it reads unacked, so a
/// second scan running beside it would not see them (a listing would come back short, a requeue would not find its
/// letter). At most ``maximumWaiting`` scans wait; past that one is refused at once rather than queued without bound.
final class DeadLetterScanTurns: Sendable {
    /// The most scans waiting for their turn.
    static let maximumWaiting = 8

    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Runs `body` when no other scan of this process runs.
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/resourceLocked`` when ``maximumWaiting`` scans wait
    ///   already; what `body` throws.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        try await take()
        defer { give() }
        return try await body()
    }

    private func take() async throws {
        var refused = false
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if !state.busy {
                    state.busy = true
                    return true
                }
                if state.waiting.count >= Self.maximumWaiting {
                    refused = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
        if refused {
            throw AMQPError(
                .resourceLocked, "\(Self.maximumWaiting) dead-letter scans are waiting already; try again later")
        }
    }

    private func give() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
