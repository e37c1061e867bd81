#if canImport(Glibc)
    import Glibc
#endif

/// Names the calling thread for the kernel, so that `top -H`, `ps -L` and `perf` tell the framework's I/O threads
/// apart (Foundation's `Thread.name` is not the kernel's name on Linux, and a new thread otherwise inherits its
/// creator's). Linux keeps the first 15 bytes. Best effort: nothing happens where it cannot be done.
package func nameCurrentThread(_ name: String) {
    #if os(Linux)
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var bytes = Array(name.utf8.prefix(15))
        _ = write(fd, &bytes, bytes.count)
        _ = close(fd)
    #endif
}
