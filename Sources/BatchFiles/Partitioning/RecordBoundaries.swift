import Batch

/// Cuts the records of a file into byte ranges by reading it once, straight through, exactly as its reader would —
/// the same parser, limits and handling of malformed records — so a cut always falls where a reader of the whole
/// file would be between two records (never inside a quoted field with line breaks), and a reader started at a cut
/// reads on exactly as the straight read did.
struct RecordBoundaries {
    /// A place between records: the offset after a record and the line the next one starts on.
    struct Boundary: Equatable {
        var offset: Int64
        var line: Int
    }

    private let targets: [Int64]
    private var nextTarget = 0
    private var cuts: [Boundary]
    private var last: Boundary

    /// Prepares to cut the data between `start` (after any header) and `size` into `count` parts of about equal
    /// bytes.
    init(start: Boundary, size: Int64, count: Int) {
        let bytes = max(size - start.offset, 0)
        // No more parts than bytes: each holds a record, so the rest would be empty anyway.
        let count = max(min(Int64(count), bytes), 1)
        let (quotient, remainder) = bytes.quotientAndRemainder(dividingBy: count)
        // start + bytes * k / count, without overflow: remainder * k / count < k.
        targets = (1..<count).map { k in
            start.offset + quotient * k + count.dividingFullWidth(remainder.multipliedFullWidth(by: k)).quotient
        }
        cuts = [start]
        last = start
    }

    /// Notes that a record (or a refused one) ends at `boundary`; it becomes a cut when it is the first at or after
    /// the next target.
    mutating func recordEnded(at boundary: Boundary) {
        last = boundary
        while nextTarget < targets.count, boundary.offset >= targets[nextTarget] {
            if cuts.last != boundary { cuts.append(boundary) }
            nextTarget += 1
        }
    }

    /// The ranges: from the first boundary to the end of the last record, each holding at least one record (none when
    /// the file has no records).
    func ranges(fileSize: Int64) -> [FileByteRange] {
        var cuts = self.cuts
        if cuts.last != last { cuts.append(last) }
        return zip(cuts, cuts.dropFirst()).map { from, to in
            FileByteRange(start: from.offset, end: to.offset, firstLine: from.line, fileSize: fileSize)
        }
    }

    /// The ranges of a CSV or TSV file: the header (and a byte order mark) left out of them.
    static func delimited(
        path: String, format: CSVFormat, configuration: FileReaderConfiguration, count: Int
    ) throws -> [FileByteRange] {
        let input = try FileInput(path: path, gzip: false, maxRecordLength: configuration.maxRecordLength)
        let size = try input.size()
        let parser = try CSVParser(
            input: input, format: format, maxRecordLength: configuration.maxRecordLength,
            maxRecordLines: configuration.maxRecordLines)
        if format.encoding == .utf8 { try parser.skipByteOrderMark() }
        if format.hasHeader { _ = try parser.next() }
        var boundaries = RecordBoundaries(
            start: Boundary(offset: input.position, line: parser.line), size: size, count: count)
        while true {
            do {
                // A record with the wrong number of fields is refused whole by the reader: it ends where it parsed.
                guard try parser.next() else { break }
            } catch let error as BatchError where error.code == .malformedRecord {
                // Malformed: the parser has moved on as the reader would; the refused record counts as one.
            }
            boundaries.recordEnded(at: Boundary(offset: input.position, line: parser.line))
        }
        return boundaries.ranges(fileSize: size)
    }

    /// The ranges of a JSON Lines file: a cut after any line that is not blank.
    static func jsonLines(path: String, configuration: FileReaderConfiguration, count: Int) throws -> [FileByteRange] {
        let input = try FileInput(path: path, gzip: false, maxRecordLength: configuration.maxRecordLength)
        let size = try input.size()
        let scanner = LineScanner(input: input, maxLength: configuration.maxRecordLength)
        try input.skipByteOrderMark()
        var boundaries = RecordBoundaries(
            start: Boundary(offset: input.position, line: scanner.line), size: size, count: count)
        while true {
            do {
                guard try scanner.advance() else { break }
                if JSONLinesReaderState.isBlank(scanner.current) { continue }
            } catch let error as BatchError where error.code == .malformedRecord {
                // A line over the limit: skipped by the scanner, a record for the reader.
            }
            boundaries.recordEnded(at: Boundary(offset: input.position, line: scanner.line))
        }
        return boundaries.ranges(fileSize: size)
    }
}
