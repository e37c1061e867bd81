import Batch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A serial executor backed by one dedicated thread: the home of a ``PostgresConnection``.
///
/// libpq calls block until the server answers. Running them on Swift's cooperative pool (as many threads as cores)
/// would stall every other task, so each connection's actor runs its jobs on a thread of its own instead.
///
/// The thread is a joinable POSIX thread. ``shutdown()`` lets it finish and, called from any other thread, joins
/// it: when it returns the thread has ended, thread-local clean-up (OpenSSL's included) done. A connection shuts its
/// executor down from the executor's own thread (``PostgresConnection/close()`` is isolated to it), where joining is
/// impossible; such a thread is joined by the next ``joinStoppedThreads()``, which the pool awaits after closing
/// connections. So once a pool's `shutdown()` has returned, no libpq thread of it is still running, and C `atexit`
/// clean-up (libpq's, OpenSSL's) cannot race one.
final class PostgresThreadExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs`, `isShutdown` and `isJoined` are only touched while holding `condition`'s lock;
    // `thread` is set once in `init` and never mutated.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var isShutdown = false
    private var isJoined = false
    private var thread: pthread_t?

    /// Threads that were shut down from their own thread and still have to be joined.
    private static let stopped = Mutex<[pthread_t]>([])
    /// Serialises ``joinStoppedThreads()`` passes: a pass returns only after every thread another pass took is
    /// joined too.
    private static let joinPass = NSLock()

    /// Starts the thread.
    ///
    /// - Parameter name: the thread's name, for debuggers and `top -H` (Linux keeps its first 15 bytes).
    init(name: String) {
        // The thread holds the executor strongly (a retained context): it lives as long as its thread.
        let context = Unmanaged.passRetained(ThreadContext(executor: self, name: name)).toOpaque()
        var created: pthread_t?
        #if canImport(Darwin)
            let result = pthread_create(
                &created, nil, { argument in PostgresThreadExecutor.threadMain(argument) }, context)
        #else
            var handle = pthread_t()
            let result = pthread_create(
                &handle, nil, { argument in PostgresThreadExecutor.threadMain(argument) }, context)
            if result == 0 { created = handle }
        #endif
        guard result == 0, let created else {
            // No thread (out of resources): the executor runs jobs on the caller's thread instead, as after shutdown.
            Unmanaged<ThreadContext>.fromOpaque(context).release()
            isShutdown = true
            isJoined = true
            return
        }
        thread = created
    }

    /// What the new thread receives: its executor and name.
    private final class ThreadContext {
        let executor: PostgresThreadExecutor
        let name: String
        init(executor: PostgresThreadExecutor, name: String) {
            self.executor = executor
            self.name = name
        }
    }

    private static func threadMain(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        guard let argument else { return nil }
        let context = Unmanaged<ThreadContext>.fromOpaque(argument).takeRetainedValue()
        nameCurrentThread(context.name)
        Thread.current.name = context.name
        context.executor.runLoop()
        return nil
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

    /// Whether the caller runs on the executor's thread.
    var isCurrentThread: Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Lets the thread finish the jobs already queued and end. Called from another thread, waits until the thread
    /// has ended (joins it); called from the executor's own thread, leaves the join to ``joinStoppedThreads()``.
    /// Calling it again is harmless.
    func shutdown() {
        condition.lock()
        isShutdown = true
        condition.signal()
        let toJoin = isJoined ? nil : thread
        isJoined = true
        condition.unlock()
        guard let toJoin else { return }
        if pthread_equal(toJoin, pthread_self()) != 0 {
            Self.stopped.withLock { $0.append(toJoin) }
        } else {
            pthread_join(toJoin, nil)
        }
    }

    /// Joins every executor thread that was shut down from its own thread (see ``shutdown()``): when this returns,
    /// those threads have ended. The joins run off Swift's cooperative pool (a joined thread may still be running
    /// the last jobs of its closed connection, which fail at once).
    static func joinStoppedThreads() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                joinPass.lock()
                let threads = stopped.withLock { threads in
                    defer { threads.removeAll() }
                    return threads
                }
                for thread in threads { pthread_join(thread, nil) }
                joinPass.unlock()
                continuation.resume()
            }
        }
    }

    /// How many shut-down executor threads wait for ``joinStoppedThreads()`` (for tests).
    static var threadsAwaitingJoin: Int { stopped.withLock { $0.count } }

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
