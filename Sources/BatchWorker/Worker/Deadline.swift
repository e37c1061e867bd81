import ServiceLifecycle
import Synchronization

/// Runs work that may block past a deadline — a call to a database or broker that stopped answering cannot be
/// interrupted — without letting the caller wait for it beyond the deadline, a shutdown request, or its own
/// cancellation.
///
/// This is how the worker's services stay inside a `ServiceGroup` (structured: the group waits for them) and still
/// let the process exit on time: what may block runs in a task of its own, which is abandoned, not awaited.
public enum Deadline {
    /// Runs `body` in a task of its own and returns its result, or `nil` once `deadline` passes, `flag` is set, or
    /// the calling task is cancelled; the task is then cancelled and left to end on its own.
    ///
    /// - Parameters:
    ///   - deadline: when to stop waiting; `nil` for no time limit.
    ///   - flag: stop waiting once it is set (a graceful shutdown), if given.
    ///   - body: the work.
    public static func run<T: Sendable>(
        until deadline: ContinuousClock.Instant? = nil, unless flag: ShutdownFlag? = nil,
        _ body: @escaping @Sendable () async -> T
    ) async -> T? {
        let outcome = Outcome<T>()
        let work = Task { outcome.finish(await body()) }
        let timer = deadline.map { deadline in
            Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                outcome.finish(nil)
            }
        }
        let shutdown = flag.map { flag in
            Task {
                await flag.wait()
                outcome.finish(nil)
            }
        }
        let result = await withTaskCancellationHandler {
            await outcome.wait()
        } onCancel: {
            outcome.finish(nil)
        }
        work.cancel()
        timer?.cancel()
        shutdown?.cancel()
        return result
    }

    /// Runs `body` in a task of its own until it returns, a graceful shutdown of the service group begins, or the
    /// calling task is cancelled: a service's loop that may block on a server, left behind rather than awaited.
    public static func runUntilGracefulShutdown(_ body: @escaping @Sendable () async -> Void) async {
        let stop = ShutdownFlag()
        await withGracefulShutdownHandler {
            _ = await run(unless: stop, body)
        } onGracefulShutdown: {
            stop.request()
        }
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
