import Synchronization

/// Runs work that may block past a deadline — a call to a database or broker that stopped answering cannot be
/// interrupted — without letting the caller wait for it beyond the deadline.
enum Deadline {
    /// Runs `body` in a task of its own and returns its result, or `nil` once `deadline` passes; the task is then
    /// cancelled and left to end on its own.
    static func run<T: Sendable>(
        until deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async -> T
    ) async -> T? {
        let outcome = Outcome<T>()
        let work = Task { outcome.finish(await body()) }
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            outcome.finish(nil)
        }
        let result = await outcome.wait()
        work.cancel()
        timer.cancel()
        return result
    }

    /// The first value given to ``finish(_:)``, handed to the one waiter.
    private final class Outcome<T: Sendable>: Sendable {
        private struct State {
            var value: T??
            var waiter: CheckedContinuation<T?, Never>?
        }

        private let state = Mutex(State())

        func finish(_ value: T?) {
            let waiter = state.withLock { state -> CheckedContinuation<T?, Never>? in
                guard state.value == nil else { return nil }
                state.value = .some(value)
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: value)
        }

        func wait() async -> T? {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> T?? in
                    if let value = state.value { return .some(value) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
