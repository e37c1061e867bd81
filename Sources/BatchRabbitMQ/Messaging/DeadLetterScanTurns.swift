import Synchronization

/// One dead-letter scan at a time in a process, in arrival order: a scan holds the messages it reads unacked, so a
/// second scan running beside it would not see them (a listing would come back short, a requeue would not find its
/// letter). At most ``maximumWaiting`` scans wait; past that one is refused at once rather than queued without bound.
/// A waiting scan whose task is cancelled (its client went away) leaves the line.
final class DeadLetterScanTurns: Sendable {
    /// The most scans waiting for their turn.
    static let maximumWaiting = 8

    private enum Turn {
        case granted, refused, cancelled
    }

    private struct State {
        var busy = false
        var waiting: [(id: UInt64, continuation: CheckedContinuation<Turn, Never>)] = []
        var nextId: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Runs `body` when no other scan of this process runs.
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/resourceLocked`` when ``maximumWaiting`` scans wait
    ///   already; `CancellationError` when the task was cancelled while it waited; what `body` throws.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        try await take()
        defer { give() }
        return try await body()
    }

    private func take() async throws {
        let id = state.withLock { state in
            defer { state.nextId += 1 }
            return state.nextId
        }
        let turn = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
                let now = state.withLock { state -> Turn? in
                    // Checked under the lock the cancellation handler takes too: a cancellation before this point
                    // is seen here, one after it finds the continuation in the line.
                    if Task.isCancelled { return .cancelled }
                    if !state.busy {
                        state.busy = true
                        return .granted
                    }
                    if state.waiting.count >= Self.maximumWaiting { return .refused }
                    state.waiting.append((id, continuation))
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Turn, Never>? in
                guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: index).continuation
            }
            waiting?.resume(returning: .cancelled)
        }
        switch turn {
        case .granted: return
        case .cancelled: throw CancellationError()
        case .refused:
            throw AMQPError(
                .resourceLocked, "\(Self.maximumWaiting) dead-letter scans are waiting already; try again later")
        }
    }

    private func give() {
        let next = state.withLock { state -> CheckedContinuation<Turn, Never>? in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst().continuation
        }
        next?.resume(returning: .granted)
    }
}
