import Logging

/// Retries a write of an execution's outcome while the store is unreachable, with exponential backoff, up to a
/// deadline: a job's truth is worth waiting for (if the process dies meanwhile, the lost-worker sweep records
/// FAILED instead). Refusals (a stale version, a missing record, a value the store cannot hold: any error that is
/// not ``TransientClassifying/isTransient``) are not retried: they will not change.
enum StorageRetry {
    static func retrying<T>(
        _ what: String, deadline: Duration, logger: Logger, _ body: () async throws -> T
    ) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var delay = Duration.milliseconds(100)
        while true {
            do {
                return try await body()
            } catch let error as BatchError where error.code == .optimisticLock || error.code == .executionNotFound {
                throw error
            } catch {
                // A value the store refuses is refused again: only an unreachable store is worth the wait.
                guard error.isTransient, clock.now - start + delay <= deadline else { throw error }
                logger.warning(
                    "could not \(what); retrying",
                    metadata: ["error": "\(error.batchDescription)", "retry.in": "\(delay)"])
                await sleepEvenIfCancelled(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    /// Waits `delay` even in a cancelled task (a worker shutting down still records its jobs' outcomes): a sleep
    /// that returned at once would turn the retries into a busy loop until the deadline.
    private static func sleepEvenIfCancelled(for delay: Duration) async {
        await Task.detached { try? await Task.sleep(for: delay) }.value
    }
}
