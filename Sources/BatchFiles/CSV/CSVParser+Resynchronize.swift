import Batch

extension CSVParser {
    /// Moves past a bad record that starts at the read position on line ``recordLine``: to just after the first
    /// line break from there (CRLF, LF or CR), so reading resumes on the next line, whatever the bad record
    /// swallowed after it. One stray quote thus costs the line it is on, not every record up to the next quote.
    ///
    /// Keeps the bytes moved past in ``refused`` (at most ``maxRecordLength`` of them; the length counts all) and
    /// sets ``line`` to the line after ``recordLine``. Reads on without buffering more than one read at a time, so
    /// a line of any length is passed over.
    func resynchronize() throws {
        let offset = input.position
        var kept: [UInt8] = []
        var length: Int64 = 0
        var foundBreak = false
        func keep(_ from: Int, _ to: Int) {
            length += Int64(to - from)
            let room = maxRecordLength - kept.count
            if room > 0, to > from {
                kept.append(contentsOf: UnsafeBufferPointer(start: input.buffer + from, count: min(room, to - from)))
            }
        }
        scanning: while true {
            let p = input.buffer
            var i = input.start
            while i < input.end {
                let byte = p[i]
                if byte == Self.lineFeed {
                    i += 1
                    foundBreak = true
                    break
                }
                if byte == Self.carriageReturn {
                    i += 1
                    foundBreak = true
                    if i == input.end {
                        // A CR at the end of the buffer: a LF may follow in the next read.
                        keep(input.start, i)
                        input.start = i
                        if try input.fill(), input.start < input.end, input.buffer[input.start] == Self.lineFeed {
                            keep(input.start, input.start + 1)
                            input.start += 1
                        }
                        break scanning
                    }
                    if p[i] == Self.lineFeed { i += 1 }
                    break
                }
                i += 1
            }
            keep(input.start, i)
            input.start = i
            if foundBreak { break }
            if try !input.fill() { break }
        }
        line = recordLine + (foundBreak ? 1 : 0)
        refused = RawRecord(
            file: path, line: recordLine, offset: offset, length: length, bytes: kept, isUTF8: isUTF8)
    }

    /// The raw bytes of the last record returned, for a read skip of a record that parsed but does not decode.
    func lastRecord() -> RawRecord {
        let length = input.start - recordStart
        let bytes = Array(UnsafeBufferPointer(start: input.buffer + recordStart, count: length))
        return RawRecord(
            file: path, line: recordLine, offset: input.position - Int64(length), length: Int64(length), bytes: bytes,
            isUTF8: isUTF8)
    }
}
