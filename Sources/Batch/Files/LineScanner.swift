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
    private let maxLength: Int

    init(input: FileInput, maxLength: Int) {
        self.input = input
        self.maxLength = maxLength
    }

    /// The last line read, without its line ending; valid until the next call to ``advance()``.
    private(set) var current = UnsafeBufferPointer<UInt8>(start: nil, count: 0)

    /// Reads the next line into ``current``.
    /// - Returns: false at the end of the file.
    /// - Throws: ``BatchError/Code/malformedRecord`` for a line over the limit, which is skipped.
    func advance() throws -> Bool {
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
            if available >= maxLength {
                lastLine = line
                line += 1
                input.start = input.end
                _ = try input.skipLine()
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

    private func deliver(_ start: Int, _ end: Int, _ contentEnd: Int) throws {
        lastLine = line
        line += 1
        var contentEnd = contentEnd
        if contentEnd > start, input.buffer[contentEnd - 1] == 0x0D { contentEnd -= 1 }
        guard end - start <= maxLength else { throw tooLong() }
        current = UnsafeBufferPointer(start: input.buffer + start, count: contentEnd - start)
    }

    private func tooLong() -> BatchError {
        FileErrors.malformed(
            input.path, line: lastLine,
            "the line is longer than \(maxLength) bytes (FileReaderConfiguration.maxRecordLength); it was not read")
    }
}
