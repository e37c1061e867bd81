#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file descriptor the I/O thread polls beside the broker's socket, so that another thread can wake it when it
/// queues work. A pipe, so that it works wherever `poll` does.
final class WakeupSignal: Sendable {
    /// The end the I/O thread polls.
    let readDescriptor: Int32
    private let writeDescriptor: Int32

    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/connectionFailed`` when no pipe can be created (the
    ///   process is out of file descriptors, for example).
    init() throws {
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else {
            let code = errno
            throw AMQPError(
                .connectionFailed, "cannot create the I/O thread's wake-up pipe: \(String(cString: strerror(code)))")
        }
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    /// Wakes the poller (a full pipe already wakes it, so a failed write is fine).
    func signal() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Empties the pipe; called by the poller after it woke.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readDescriptor, &buffer, buffer.count) > 0 {}
    }
}
