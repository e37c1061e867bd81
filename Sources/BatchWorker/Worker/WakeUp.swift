import Synchronization

/// A one-shot wake-up: a task waits for it for at most a given time, and ``signal()``, from any thread, ends the
/// wait at once. Replaces sleeping in short steps while a condition is checked (a poll that costs a wake-up every
/// few milliseconds and still answers late).
final class WakeUp: Sendable {
    private struct State {
        var signalled = false
        var continuation: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Ends the wait (or the next one, if none has begun). Calling it again does nothing.
    func signal() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.signalled else { return nil }
            state.signalled = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }

    /// Whether ``signal()`` was called (or the wait timed out or was cancelled).
    var isSignalled: Bool { state.withLock { $0.signalled } }

    /// Returns once signalled, after `timeout`, or when the calling task is cancelled, whichever comes first.
    func wait(atMost timeout: Duration) async {
        guard !isSignalled else { return }
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            signal()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.signalled { return true }
                    state.continuation = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            signal()
        }
        timer.cancel()
    }
}
