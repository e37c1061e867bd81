import Batch
import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a call that blocks (libpq's connect: name lookup, TCP, TLS, authentication) on a thread of its own, so that
/// none of Swift's cooperative threads waits for it, and joins that thread before returning.
///
/// Joining matters at exit: once the call returned, its thread has ended, thread-local clean-up (OpenSSL's
/// included) done, so C `atexit` clean-up (libpq's, OpenSSL's) never races a thread still finishing a connect.
enum JoinedThread {
    /// Runs `body` on a new thread named `name` and returns its result once the thread has ended. Runs it on a
    /// Dispatch thread when no thread can be created.
    static func run<Result: Sendable>(name: String, _ body: @escaping @Sendable () -> Result) async -> Result {
        var thread: pthread_t?
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
            let context = Unmanaged.passRetained(Context(name: name) { continuation.resume(returning: body()) })
            #if canImport(Darwin)
                var created: pthread_t?
            #else
                var created = pthread_t()
            #endif
            let status = pthread_create(&created, nil, { Self.main($0) }, context.toOpaque())
            if status == 0 {
                thread = created
            } else {
                context.release()
                DispatchQueue.global().async { continuation.resume(returning: body()) }
            }
        }
        if let thread { pthread_join(thread, nil) }
        return result
    }

    /// What the new thread runs: its name and work.
    private final class Context {
        let name: String
        let work: () -> Void
        init(name: String, work: @escaping () -> Void) {
            self.name = name
            self.work = work
        }
    }

    private static func main(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        guard let argument else { return nil }
        let context = Unmanaged<Context>.fromOpaque(argument).takeRetainedValue()
        nameCurrentThread(context.name)
        context.work()
        return nil
    }
}
