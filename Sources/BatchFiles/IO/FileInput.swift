import Batch
import CZlib

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file opened for reading through a buffer the parsers scan in place: plain bytes with `read(2)`, or gzip
/// through zlib's `gzread`. Owns the descriptor (or the `gzFile`) and the buffer, and frees both in `deinit`.
///
/// The buffer holds `[start, end)` unread bytes; ``fill()`` moves them to the front and reads more, growing the
/// buffer up to the longest record plus one read, never further — so a 10 MB line is refused after 1 MiB is read,
/// not loaded whole. Offsets are positions in the uncompressed bytes.
///
/// Its mutable state is `@exclusivity(unchecked)`: one reader or writer uses it from one task at a time and no
/// access to it ever overlaps another (no callbacks run while one is in progress), so the runtime's per-access
/// exclusivity checks — a fifth of the time of a CSV copy — buy nothing here.
final class FileInput {
    /// The path, for errors.
    let path: String
    /// The buffer; `[start, end)` is unread.
    @exclusivity(unchecked) private(set) var buffer: UnsafeMutablePointer<UInt8>
    /// The first unread byte in the buffer.
    @exclusivity(unchecked) var start = 0
    /// The end of the bytes read into the buffer.
    @exclusivity(unchecked) private(set) var end = 0
    /// Whether the file has no more bytes beyond `end`.
    @exclusivity(unchecked) private(set) var isAtEnd = false
    /// The offset in the file of `buffer[0]`.
    @exclusivity(unchecked) private(set) var bufferOffset: Int64 = 0

    @exclusivity(unchecked) private var capacity: Int
    private let maxCapacity: Int
    private var fd: Int32
    private var gz: gzFile?

    /// The bytes asked for with each read.
    static let readSize = 1 << 18

    /// Opens `path`.
    /// - Parameters:
    ///   - gzip: whether to decompress it.
    ///   - maxRecordLength: the longest record the parser accepts; the buffer never grows beyond it plus a read.
    init(path: String, gzip: Bool, maxRecordLength: Int) throws {
        self.path = path
        fd = try FileSystem.open(path, O_RDONLY, action: "open")
        if gzip {
            guard let gz = gzdopen(fd, "rb") else {
                _ = close(fd)
                throw FileErrors.file(path, "cannot open it for gzip decompression")
            }
            _ = gzbuffer(gz, UInt32(Self.readSize))
            self.gz = gz
        }
        capacity = Self.readSize
        let (limit, overflow) = maxRecordLength.addingReportingOverflow(Self.readSize)
        maxCapacity = overflow ? Int.max : limit
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        if let gz {
            _ = gzclose_r(gz)
        } else {
            _ = close(fd)
        }
        buffer.deallocate()
    }

    /// Feeds the file's bytes as they are on disk (compressed, for gzip) to `body`, from the first, through this
    /// input's own descriptor: a checksum verified this way is the checksum of what is read, even if the path is
    /// replaced meanwhile. Call it before reading.
    func forEachRawBlock(_ body: (UnsafeRawBufferPointer) -> Void) throws {
        try FileSystem.forEachBlock(of: fd, path: path, body)
    }

    /// The file offset of the first unread byte.
    var position: Int64 { bufferOffset + Int64(start) }

    /// Moves the unread bytes to the front of the buffer (growing it when they fill it) and reads more.
    /// - Returns: false when the file had no more bytes; ``isAtEnd`` is then true.
    func fill() throws -> Bool {
        if isAtEnd { return false }
        if start > 0 {
            if end > start { buffer.update(from: buffer + start, count: end - start) }
            end -= start
            bufferOffset += Int64(start)
            start = 0
        }
        if end == capacity {
            let grown = min(capacity * 2, maxCapacity)
            guard grown > capacity else {
                // The parsers refuse a record over the limit before asking for more, so this is not reached.
                throw FileErrors.file(path, "a record outgrew the read buffer (\(capacity) bytes)")
            }
            let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            larger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = larger
            capacity = grown
        }
        let count = try readRaw(into: buffer + end, count: capacity - end)
        if count == 0 {
            isAtEnd = true
            return false
        }
        end += count
        return true
    }

    /// Makes `offset` the next byte read: within the buffer if it is there, else by seeking (plain files) or by
    /// decompressing up to it (gzip).
    /// - Throws: ``BatchError/Code/fileFailure`` when the file is shorter than `offset` (it changed since the
    ///   offset was saved).
    func seek(to offset: Int64) throws {
        if offset >= bufferOffset, offset <= bufferOffset + Int64(end) {
            start = Int(offset - bufferOffset)
            return
        }
        if let gz {
            if offset < position {
                guard gzrewind(gz) == 0 else { throw FileErrors.file(path, "cannot rewind the gzip stream") }
                bufferOffset = 0
            } else {
                bufferOffset += Int64(end)
            }
            start = 0
            end = 0
            isAtEnd = false
            while bufferOffset < offset {
                let count = try readRaw(into: buffer, count: Int(min(Int64(capacity), offset - bufferOffset)))
                guard count > 0 else { throw shorterThan(offset) }
                bufferOffset += Int64(count)
            }
        } else {
            guard try FileSystem.size(fd, path: path) >= offset else { throw shorterThan(offset) }
            guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else { throw FileErrors.system("seek in", path) }
            bufferOffset = offset
            start = 0
            end = 0
            isAtEnd = false
        }
    }

    /// The size of the file on disk (of the compressed bytes, for gzip).
    func size() throws -> Int64 { try FileSystem.size(fd, path: path) }

    /// Skips a UTF-8 byte order mark at the read position.
    func skipByteOrderMark() throws {
        while end - start < 3, try fill() {}
        let p = buffer + start
        if end - start >= 3, p[0] == 0xEF, p[1] == 0xBB, p[2] == 0xBF { start += 3 }
    }

    /// Skips past the next line feed (or to the end of the file), without buffering the line.
    /// - Returns: whether a line feed was found.
    func skipLine() throws -> Bool {
        while true {
            if start < end, let found = memchr(buffer + start, 0x0A, end - start) {
                start = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self)) + 1
                return true
            }
            start = end
            if try !fill() { return false }
        }
    }

    private func readRaw(into destination: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int {
        guard let gz else { return try FileSystem.read(fd, destination, count, path: path) }
        let n = gzread(gz, destination, UInt32(min(count, Int(Int32.max))))
        if n < 0 {
            var code: Int32 = 0
            let message = gzerror(gz, &code).map { String(cString: $0) } ?? "unknown error"
            throw FileErrors.file(path, "cannot decompress: \(message)")
        }
        return Int(n)
    }

    private func shorterThan(_ offset: Int64) -> BatchError {
        FileErrors.file(
            path,
            "cannot resume at byte \(offset): the file is shorter than when the position was saved; it changed "
                + "since the last run, so restart with a new job instance")
    }
}
