import Batch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX file operations the readers and writers need, each turning a failure into a ``BatchError`` that
/// names the file. Plain system calls rather than `FileManager`/`FileHandle`: the writers need `ftruncate`,
/// `fsync` and exact offsets, and the readers a buffer they fill themselves.
enum FileSystem {
    /// Opens `path` with `flags`, retrying when interrupted.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644, action: String) throws -> Int32 {
        while true {
            let fd = systemOpen(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw FileErrors.system(action, path) }
        }
    }

    /// Reads up to `count` bytes into `buffer`; 0 at the end of the file.
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, path: String) throws -> Int {
        while true {
            let n = systemRead(fd, buffer, count)
            if n >= 0 { return n }
            if errno != EINTR { throw FileErrors.system("read", path) }
        }
    }

    /// Reads up to `count` bytes at `offset` (`pread`: the descriptor's offset stays); 0 at the end of the file.
    static func read(
        _ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, at offset: off_t, path: String
    ) throws -> Int {
        while true {
            let n = systemPread(fd, buffer, count, offset)
            if n >= 0 { return n }
            if errno != EINTR { throw FileErrors.system("read", path) }
        }
    }

    /// Writes all of `bytes`.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileErrors.system("write", path)
            }
            done += n
        }
    }

    /// The size of the open file `fd`.
    static func size(_ fd: Int32, path: String) throws -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileErrors.system("inspect", path) }
        return Int64(info.st_size)
    }

    /// The size of the file at `path`, or nil when there is none.
    static func size(of path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Flushes the file to the disk.
    static func sync(_ fd: Int32, path: String) throws {
        guard fsync(fd) == 0 else { throw FileErrors.system("sync", path) }
    }

    /// Flushes the directory holding `path`, so a rename in it survives a crash. Best effort.
    static func syncDirectory(of path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = systemOpen(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = close(fd)
    }

    /// Renames `source` to `destination`, replacing it.
    static func rename(_ source: String, to destination: String) throws {
        guard systemRename(source, destination) == 0 else {
            throw FileErrors.system("rename to '\(destination)'", source)
        }
    }

    /// Removes the file at `path` if there is one.
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileErrors.system("remove", path) }
    }

    /// Reads a whole small file, refusing one over `limit` bytes.
    static func readSmallFile(_ path: String, limit: Int, action: String) throws -> [UInt8] {
        let fd = try open(path, O_RDONLY, action: action)
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(fd, $0.baseAddress!, $0.count, path: path) }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<n])
            guard bytes.count <= limit else { throw FileErrors.file(path, "larger than \(limit) bytes") }
        }
    }

    /// Writes `bytes` to `path` through a temporary file renamed into place, so readers see all or nothing.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".part"
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_TRUNC, action: "create")
        do {
            try bytes.withUnsafeBytes { try write(fd, $0, path: temporary) }
            try sync(fd, path: temporary)
        } catch {
            _ = close(fd)
            throw error
        }
        _ = close(fd)
        try rename(temporary, to: path)
    }

    /// Feeds the whole file at `path` to `body`, one buffer at a time.
    static func forEachBlock(of path: String, action: String, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let fd = try open(path, O_RDONLY, action: action)
        defer { _ = close(fd) }
        try forEachBlock(of: fd, path: path, body)
    }

    /// Feeds the whole file open as `fd` to `body`, one buffer at a time, from its first byte, with `pread`: the
    /// descriptor's offset is left where it was.
    static func forEachBlock(of fd: Int32, path: String, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while true {
            let n = try read(fd, buffer.baseAddress!, size, at: offset, path: path)
            if n == 0 { return }
            offset += off_t(n)
            body(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
    }
}

// The system calls under names that do not clash with the static methods above.
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
private func systemPread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
    pread(fd, buffer, count, offset)
}
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func systemRename(_ source: String, _ destination: String) -> Int32 { rename(source, destination) }
