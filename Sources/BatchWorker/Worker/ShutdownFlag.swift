import Synchronization

/// Set once when a graceful shutdown begins; loops check it, and ``wait()`` returns once it is set. The worker also
/// uses it as a one-shot wake-up (a slot freed, a partition ended), with ``wait(atMost:)``.
///
/// Public so that services outside the worker (``HeartbeatService`` in `swiftbatch run`, tests) can share the one
/// primitive the worker's services use to leave a call that may block on a server.
public final class ShutdownFlag: Sendable {
    private struct State {
        var requested = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Creates a flag that is not set.
    public init() {}

    /// Sets the flag and wakes every waiter.
    public func request() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.requested = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether shutdown was requested.
    public var isRequested: Bool { state.withLock { $0.requested } }

    /// Returns once shutdown is requested, or once the calling task is cancelled.
    public func wait() async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.requested || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

extension ShutdownFlag {
    /// Returns once the flag is set, after `timeout`, or when the calling task is cancelled, whichever comes first;
    /// the timeout sets nothing. (A one-shot wake-up with a deadline: the worker's waits for a slot or a partition.)
    func wait(atMost timeout: Duration) async {
        guard !isRequested else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
