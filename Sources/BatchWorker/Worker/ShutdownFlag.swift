import Synchronization

/// Set once when a graceful shutdown begins; loops check it, and ``wait()`` returns once it is set.
final class ShutdownFlag: Sendable {
    private struct State {
        var requested = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Sets the flag and wakes every waiter.
    func request() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.requested = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether shutdown was requested.
    var isRequested: Bool { state.withLock { $0.requested } }

    /// Returns once shutdown is requested.
    func wait() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.requested { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
