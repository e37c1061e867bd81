import Batch
import CLibPQ
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Waits for the sockets of every PostgreSQL connection of the process on one thread, and resumes the task waiting
/// for each.
///
/// libpq runs in non-blocking mode: a connection sends on the caller's thread (one of Swift's cooperative threads,
/// never blocked) and, when the answer is not there yet, suspends its task here until the socket is readable. One
/// thread serves any number of connections, and under load one wake-up of it resumes several tasks: a round trip
/// costs one hand-over between threads instead of a thread of its own per connection and two hand-overs.
///
/// On Linux it is an `epoll` set: arming a socket is one `epoll_ctl` from the waiting task's thread (the poller's
/// thread is not woken for it), each arming delivers one event (`EPOLLONESHOT`).
final class SocketPoller: Sendable {
    /// The process's poller: its thread starts on first use and lives as long as the process.
    static let shared = SocketPoller()

    /// Tasks waiting, by socket. A connection waits for one thing at a time, so one waiter per socket.
    private let waiters = Mutex<[Int32: CheckedContinuation<Bool, Never>]>([:])
    #if os(Linux)
        private let epoll: Int32
    #endif

    private init() {
        #if os(Linux)
            epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
            guard epoll >= 0 else { return }  // no poller: waits fall back to poll(2) (see wait(for:writable:))
            Thread.detachNewThread { [self] in
                nameCurrentThread("libpq poll")
                run()
            }
        #endif
    }

    /// Suspends the calling task until `socket` is readable (or, with `writable`, readable or writable), has
    /// failed or was closed by the peer. A wake-up may be spurious: callers ask libpq again and wait again.
    func wait(for socket: Int32, writable: Bool) async {
        #if os(Linux)
            if epoll >= 0 {
                let armed = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    waiters.withLock { waiters in
                        precondition(waiters[socket] == nil, "two tasks wait for one PostgreSQL connection's socket")
                        waiters[socket] = continuation
                    }
                    if swift_batch_epoll_arm(epoll, socket, writable ? 1 : 0) != 0 {
                        waiters.withLock { $0.removeValue(forKey: socket) }?.resume(returning: false)
                    }
                }
                // Not armed (the set is full, or the socket was closed): wait without epoll, which also returns at
                // once for a closed socket, so libpq finds out what happened to it.
                if !armed { await Self.waitOnAnotherThread(for: socket, writable: writable) }
                return
            }
        #endif
        await Self.waitOnAnotherThread(for: socket, writable: writable)
    }

    #if os(Linux)
        private func run() {
            var ready = [Int32](repeating: 0, count: 64)
            while true {
                let count = ready.withUnsafeMutableBufferPointer {
                    swift_batch_epoll_wait(epoll, $0.baseAddress, Int32($0.count))
                }
                guard count > 0 else { continue }  // EINTR
                let resumed = waiters.withLock { waiters in
                    (0..<Int(count)).compactMap { waiters.removeValue(forKey: ready[$0]) }
                }
                for continuation in resumed { continuation.resume(returning: true) }
            }
        }
    #endif

    /// Without `epoll`: `poll(2)` on a Dispatch thread (not one of Swift's cooperative threads).
    private static func waitOnAnotherThread(for socket: Int32, writable: Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                let events = Int16(POLLIN) | (writable ? Int16(POLLOUT) : 0)
                var descriptor = pollfd(fd: socket, events: events, revents: 0)
                _ = poll(&descriptor, 1, -1)
                continuation.resume()
            }
        }
    }
}
