import Batch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Splits a ``FileInput`` into lines with `memchr`, refusing one longer than the limit without buffering it.
final class LineScanner {
    let input: FileInput
    /// The number of the next line, from 1.
    var line = 1
    /// The number of the last line returned (or refused).
    private(set) var lastLine = 0
    /// The raw bytes of the last line refused for its length, kept for its read skip.
    private(set) var refused: RawRecord?
    private let maxLength: Int
    /// Where the last line returned starts and ends (after its line feed) in the buffer; valid until the next call
    /// to ``advance()``.
    private var lastStart = 0
    private var lastEnd = 0

    init(input: FileInput, maxLength: Int) {
        self.input = input
        self.maxLength = maxLength
    }

    /// The last line read, without its line ending; valid until the next call to ``advance()``.
    private(set) var current = UnsafeBufferPointer<UInt8>(start: nil, count: 0)

    /// Reads the next line into ``current``.
    /// - Returns: false at the end of the file.
    /// - Throws: ``BatchError/Code/malformedRecord`` for a line over the limit, which is skipped (its first bytes
    ///   are kept in ``refused``).
    func advance() throws -> Bool {
        refused = nil
        var scanned = 0
        while true {
            let start = input.start
            let available = input.end - start
            if available > scanned, let found = memchr(input.buffer + start + scanned, 0x0A, available - scanned) {
                let lineFeed = input.buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
                input.start = lineFeed + 1
                try deliver(start, lineFeed + 1, lineFeed)
                return true
            }
            scanned = available
            // A line of `maxLength` bytes may still end the file with no line feed: only more is certainly too long.
            if available > maxLength {
                lastLine = line
                line += 1
                let offset = input.position
                let kept = Array(UnsafeBufferPointer(start: input.buffer + start, count: maxLength))
                input.start = input.end
                _ = try input.skipLine()
                refused = RawRecord(
                    file: input.path, line: lastLine, offset: offset, length: input.position - offset, bytes: kept)
                throw tooLong()
            }
            if try !input.fill() {
                guard input.end > input.start else { return false }
                let start = input.start
                input.start = input.end
                try deliver(start, input.end, input.end)
                return true
            }
        }
    }

    /// The raw bytes of the last line returned, with its line ending, for a read skip of a line that does not
    /// decode.
    func lastRecord() -> RawRecord {
        let length = lastEnd - lastStart
        return RawRecord(
            file: input.path, line: lastLine, offset: input.bufferOffset + Int64(lastStart), length: Int64(length),
            bytes: Array(UnsafeBufferPointer(start: input.buffer + lastStart, count: min(length, maxLength))))
    }

    private func deliver(_ start: Int, _ end: Int, _ contentEnd: Int) throws {
        lastLine = line
        line += 1
        lastStart = start
        lastEnd = end
        var contentEnd = contentEnd
        if contentEnd > start, input.buffer[contentEnd - 1] == 0x0D { contentEnd -= 1 }
        guard end - start <= maxLength else {
            refused = lastRecord()
            throw tooLong()
        }
        current = UnsafeBufferPointer(start: input.buffer + start, count: contentEnd - start)
    }

    private func tooLong() -> BatchError {
        FileErrors.malformed(
            input.path, line: lastLine,
            "the line is longer than \(maxLength) bytes (FileReaderConfiguration.maxRecordLength); it was not read",
            record: refused)
    }
}
