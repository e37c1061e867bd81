import Batch

/// A streaming RFC 4180 parser over a ``FileInput``: quoted fields with doubled quotes, delimiters and line breaks
/// inside quotes, CRLF, LF or CR line endings; optionally backslash escapes instead of quotes.
///
/// Hand-written rather than taken from a CSV library because the readers need what those do not expose: the exact
/// byte offset after each record (a restart seeks straight to the last committed record) and the line and field
/// where a record goes wrong. It scans the buffered bytes in place (an unquoted field's ordinary bytes with one table
/// look-up each) and copies each field into one ``ScratchBuffer`` with bulk appends — no per-character `String`
/// work; a record that crosses the end of the buffer is parsed again from its start once more bytes are read (rare,
/// as the buffer holds 256 KiB at least).
///
/// Its mutable state is `@exclusivity(unchecked)`: one reader or writer uses it from one task at a time and no
/// access to it ever overlaps another (no callbacks run while one is in progress), so the runtime's per-access
/// exclusivity checks — a fifth of the time of a CSV copy — buy nothing here.
final class CSVParser {
    let input: FileInput
    /// The line on which the next record starts, from 1.
    @exclusivity(unchecked) var line = 1
    /// The line on which the last record returned (or refused) started.
    @exclusivity(unchecked) private(set) var recordLine = 1
    /// The bytes of the fields of the last record, one after the other.
    @exclusivity(unchecked) private var fieldBytes = ScratchBuffer<UInt8>(capacity: 4096)
    /// Where each field of the last record ends in ``fieldBytes``.
    @exclusivity(unchecked) private var fieldEnds = ScratchBuffer<Int>(capacity: 64)
    /// Column names for error messages, when known.
    @exclusivity(unchecked) var columnNames: [String] = []
    /// Where the last record returned starts in the buffer; valid until the next call to ``next()``.
    @exclusivity(unchecked) private(set) var recordStart = 0
    /// The raw bytes of the last record refused, kept for its read skip.
    @exclusivity(unchecked) var refused: RawRecord?

    private let delimiter: UInt8
    /// For each byte value, 1 when the byte ends or escapes an unquoted field (the delimiter, CR, LF, and the quote
    /// or backslash), else 0.
    private let stops: UnsafeMutablePointer<UInt8>
    private let quotes: Bool
    private let backslash: Bool
    let maxRecordLength: Int
    let maxRecordLines: Int
    let isUTF8: Bool

    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    private static let quote: UInt8 = 0x22
    private static let backslashByte: UInt8 = 0x5C

    init(input: FileInput, format: CSVFormat, maxRecordLength: Int, maxRecordLines: Int) throws {
        self.input = input
        self.delimiter = try format.delimiterByte()
        self.quotes = format.escaping == .quotes
        self.backslash = format.escaping == .backslash
        self.maxRecordLength = maxRecordLength
        self.maxRecordLines = maxRecordLines
        self.isUTF8 = format.encoding.isUTF8
        stops = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        stops.initialize(repeating: 0, count: 256)
        for byte in [delimiter, Self.lineFeed, Self.carriageReturn] { stops[Int(byte)] = 1 }
        if quotes { stops[Int(Self.quote)] = 1 }
        if backslash { stops[Int(Self.backslashByte)] = 1 }
    }

    deinit { stops.deallocate() }

    /// The number of fields in the last record.
    var fieldCount: Int { fieldEnds.count }

    /// The range of field `index` in ``fieldBytes``.
    @inline(__always)
    func range(of index: Int) -> Range<Int> {
        (index == 0 ? 0 : fieldEnds[index - 1])..<fieldEnds[index]
    }

    /// The bytes of field `index` of the last record, valid until the next call to ``next()``.
    @inline(__always)
    func bytes(of index: Int) -> UnsafeBufferPointer<UInt8> {
        fieldBytes.values(in: range(of: index))
    }

    /// The file's path, for errors.
    var path: String { input.path }

    /// Names field `index` for an error message.
    func fieldName(_ index: Int) -> FieldName {
        FieldName(name: index < columnNames.count ? columnNames[index] : nil, index: index)
    }

    /// Skips a UTF-8 byte order mark at the start of the file.
    func skipByteOrderMark() throws {
        while input.end - input.start < 3, try input.fill() {}
        let p = input.buffer + input.start
        if input.end - input.start >= 3, p[0] == 0xEF, p[1] == 0xBB, p[2] == 0xBF { input.start += 3 }
    }

    /// Parses the next record into ``fieldBytes`` and ``fieldEnds``, skipping empty lines.
    /// - Returns: false at the end of the file.
    /// - Throws: ``BatchError/Code/malformedRecord`` naming the file, the line the bad record starts on and the
    ///   field; the parser has then moved to the line after that one (see ``resynchronize()``), so reading can go
    ///   on if the error is skipped, and ``refused`` holds the bytes it moved past.
    func next() throws -> Bool {
        refused = nil
        while true {
            switch scan() {
            case .record(let end, let newlines):
                let length = end - input.start
                recordStart = input.start
                recordLine = line
                guard length <= maxRecordLength else {
                    try resynchronize()
                    throw tooLong()
                }
                input.start = end
                line += newlines
                return true
            case .blank(let end):
                input.start = end
                line += 1
            case .needMore:
                // More than the limit buffered and still no end: too long. Exactly the limit may still be a whole
                // record (the scan can ask for one more byte to see past a line break at the end of the buffer).
                if input.end - input.start > maxRecordLength {
                    recordLine = line
                    try resynchronize()
                    throw tooLong()
                }
                _ = try input.fill()
            case .end:
                return false
            case .malformed(_, let newlines, let field, let problem):
                recordLine = line
                let place = newlines == 0 ? "" : " (found on line \(line + newlines))"
                try resynchronize()
                throw FileErrors.malformed(
                    path, line: recordLine, field: fieldName(field),
                    problem + place + "; reading resumes on line \(recordLine + 1)", record: refused)
            }
        }
    }

    private func tooLong() -> BatchError {
        FileErrors.malformed(
            path, line: recordLine,
            "the record is longer than \(maxRecordLength) bytes (FileReaderConfiguration.maxRecordLength); it was "
                + "not read; reading resumes on line \(recordLine + 1)", record: refused)
    }

    private enum Scan {
        case record(end: Int, newlines: Int)
        case blank(end: Int)
        case needMore
        case end
        case malformed(at: Int, newlines: Int, field: Int, problem: String)
    }

    private func tooManyLines(_ at: Int, _ newlines: Int, _ field: Int) -> Scan {
        .malformed(
            at: at, newlines: newlines, field: field,
            problem: "the record runs over more than \(maxRecordLines) lines (FileReaderConfiguration."
                + "maxRecordLines): a quote that is never closed?")
    }

    @inline(__always)
    private func append(
        _ fieldBytes: inout ScratchBuffer<UInt8>, _ p: UnsafeMutablePointer<UInt8>, _ from: Int, _ to: Int
    ) {
        fieldBytes.append(p + from, count: to - from)
    }

    /// Where a line break at `i` ends: after CRLF, CR or LF. Nil when a CR ends the buffer and more may follow.
    @inline(__always)
    private func lineBreakEnd(_ p: UnsafeMutablePointer<UInt8>, _ i: Int, _ end: Int, _ eof: Bool) -> Int? {
        if p[i] == Self.lineFeed { return i + 1 }
        if i + 1 < end { return p[i + 1] == Self.lineFeed ? i + 2 : i + 1 }
        return eof ? i + 1 : nil
    }

    /// Parses one record into ``fieldBytes`` and ``fieldEnds``.
    private func scan() -> Scan {
        fieldBytes.removeAll()
        fieldEnds.removeAll()
        return scan(&fieldBytes, &fieldEnds)
    }

    private func scan(_ fieldBytes: inout ScratchBuffer<UInt8>, _ fieldEnds: inout ScratchBuffer<Int>) -> Scan {
        let p = input.buffer
        let end = input.end
        let eof = input.isAtEnd
        let delimiter = self.delimiter
        let stops = self.stops
        var i = input.start
        if i == end { return eof ? .end : .needMore }
        if p[i] == Self.lineFeed || p[i] == Self.carriageReturn {
            guard let after = lineBreakEnd(p, i, end, eof) else { return .needMore }
            return .blank(end: after)
        }
        var newlines = 0
        while true {
            if quotes, i < end, p[i] == Self.quote {
                // A quoted field: runs to the next lone quote; doubled quotes are one quote.
                i += 1
                var run = i
                while true {
                    if i == end {
                        if !eof { return .needMore }
                        return .malformed(
                            at: i, newlines: newlines, field: fieldEnds.count,
                            problem: "a quoted field is not closed before the end of the file")
                    }
                    let byte = p[i]
                    if byte == Self.quote {
                        append(&fieldBytes, p, run, i)
                        if i + 1 == end, !eof { return .needMore }
                        if i + 1 < end, p[i + 1] == Self.quote {
                            fieldBytes.append(Self.quote)
                            i += 2
                            run = i
                            continue
                        }
                        i += 1
                        break
                    }
                    if byte == Self.lineFeed {
                        newlines += 1
                        if newlines >= maxRecordLines { return tooManyLines(i, newlines, fieldEnds.count) }
                    }
                    i += 1
                }
                fieldEnds.append(fieldBytes.count)
                if i == end { return .record(end: i, newlines: newlines) }  // eof: a closing quote needed a look
                let byte = p[i]
                if byte == delimiter {
                    i += 1
                    continue
                }
                if byte == Self.lineFeed || byte == Self.carriageReturn {
                    guard let after = lineBreakEnd(p, i, end, eof) else { return .needMore }
                    return .record(end: after, newlines: newlines + 1)
                }
                return .malformed(
                    at: i, newlines: newlines, field: fieldEnds.count - 1,
                    problem: "a character after the closing quote of a quoted field; a quote inside a quoted field "
                        + "must be doubled (\"\")")
            } else {
                // An unquoted field: runs to the next delimiter or line break.
                var run = i
                while i < end {
                    // Ordinary bytes are skipped with one table look-up each.
                    if stops[Int(p[i])] == 0 {
                        i += 1
                        continue
                    }
                    let byte = p[i]
                    if byte == delimiter || byte == Self.lineFeed || byte == Self.carriageReturn { break }
                    if quotes, byte == Self.quote {
                        return .malformed(
                            at: i, newlines: newlines, field: fieldEnds.count,
                            problem: "a quote inside an unquoted field; put the whole field in quotes and double "
                                + "the quotes in it (RFC 4180)")
                    }
                    if backslash, byte == Self.backslashByte {
                        append(&fieldBytes, p, run, i)
                        if i + 1 == end {
                            if !eof { return .needMore }
                            return .malformed(
                                at: i, newlines: newlines, field: fieldEnds.count,
                                problem: "a backslash at the end of the file")
                        }
                        switch p[i + 1] {
                        case Self.lineFeed:
                            fieldBytes.append(Self.lineFeed)
                            newlines += 1
                            if newlines >= maxRecordLines { return tooManyLines(i, newlines, fieldEnds.count) }
                        case UInt8(ascii: "t"): fieldBytes.append(0x09)
                        case UInt8(ascii: "n"): fieldBytes.append(Self.lineFeed)
                        case UInt8(ascii: "r"): fieldBytes.append(Self.carriageReturn)
                        case let other: fieldBytes.append(other)
                        }
                        i += 2
                        run = i
                        continue
                    }
                    i += 1
                }
                if i == end, !eof { return .needMore }
                append(&fieldBytes, p, run, i)
                fieldEnds.append(fieldBytes.count)
                if i == end { return .record(end: i, newlines: newlines) }
                if p[i] == delimiter {
                    i += 1
                    continue
                }
                guard let after = lineBreakEnd(p, i, end, eof) else { return .needMore }
                return .record(end: after, newlines: newlines + 1)
            }
        }
    }
}
