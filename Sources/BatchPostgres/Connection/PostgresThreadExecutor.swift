import Foundation

/// A serial executor backed by one dedicated thread: the home of a ``PostgresConnection``.
///
/// libpq calls block until the server answers. Running them on Swift's cooperative pool (as many threads as cores)
/// would stall every other task, so each connection's actor runs its jobs on a thread of its own instead.
final class PostgresThreadExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `isShutdown` are only touched while holding `condition`'s lock; the thread
    // object is set once in `init` and never mutated.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var isShutdown = false

    /// Starts the thread.
    ///
    /// - Parameter name: the thread's name, for debuggers and `top -H`.
    init(name: String) {
        // The thread's closure holds the executor strongly: it lives as long as its thread, which ends at `shutdown()`.
        let thread = Thread { self.runLoop() }
        thread.name = name
        thread.start()
    }

    /// Queues a job; it runs on the executor's thread in submission order.
    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        let accepted = !isShutdown
        if accepted {
            jobs.append(unowned)
            condition.signal()
        }
        condition.unlock()
        if !accepted {
            // After shutdown there is no thread any more; run the job here rather than lose it. The connection it
            // belongs to is closed by then, so the job only finds that out and returns an error.
            unowned.runSynchronously(on: asUnownedSerialExecutor())
        }
    }

    /// The executor as the runtime wants it.
    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread finish the jobs already queued and end.
    func shutdown() {
        condition.lock()
        isShutdown = true
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !isShutdown {
                condition.wait()
            }
            if jobs.isEmpty && isShutdown {
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch {
                job.runSynchronously(on: asUnownedSerialExecutor())
            }
        }
    }
}
