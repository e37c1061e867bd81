import Batch

/// A part of a file a reader reads: the records that start at or after byte `start` and before byte `end` (of the
/// uncompressed bytes), as ``FileRangePartitioner`` cuts them — at record boundaries, so every record of the file
/// is in exactly one range.
///
/// A reader given a range (``FileReaderConfiguration/range``) still reads a CSV or TSV header from the start of the
/// file, then moves to `start` and stops at the first record that starts at `end` or after. It keeps its position in
/// the step context as it does over a whole file, so a restart resumes within the range, after its last committed
/// chunk. Blank lines belong to the record after them.
///
/// ```swift
/// var configuration = FileReaderConfiguration()
/// configuration.range = FileByteRange(start: 1_048_576, end: 2_097_152, firstLine: 20_417)
/// let reader = CSVReader<Entry>(path: path, configuration: configuration)
/// ```
public struct FileByteRange: Sendable, Hashable {
    /// The offset of the first byte of the range: 0, or right after a record's line break.
    public var start: Int64
    /// The offset the range ends before (a record boundary or the file's size); nil reads to the end of the file.
    public var end: Int64?
    /// The number of the line `start` is on, from 1, so errors name the line in the whole file.
    public var firstLine: Int
    /// The file's size when the range was cut, if known: a reader refuses a plain file of another size (it changed,
    /// and the range no longer falls on record boundaries).
    public var fileSize: Int64?

    /// Creates a range.
    /// - Parameters:
    ///   - start: the first byte; a record boundary.
    ///   - end: the byte the range ends before; a record boundary, or nil for the end of the file.
    ///   - firstLine: the line number at `start`, from 1.
    ///   - fileSize: the file's size when the range was cut, checked when the reader opens.
    public init(start: Int64, end: Int64?, firstLine: Int = 1, fileSize: Int64? = nil) {
        self.start = start
        self.end = end
        self.firstLine = firstLine
        self.fileSize = fileSize
    }

    /// Refuses a range that cannot be read: negative, reversed, or a line below 1.
    func validate(_ path: String) throws {
        guard start >= 0, end.map({ $0 >= start }) ?? true, firstLine >= 1, (fileSize ?? 0) >= 0 else {
            throw FileErrors.definition(
                "reader for '\(path)': the byte range \(start)..<\(end.map(String.init) ?? "end") (line \(firstLine)) "
                    + "is invalid")
        }
    }

    /// Refuses a plain file whose size is not the one the range was cut from.
    func checkSize(_ path: String, gzip: Bool) throws {
        guard let fileSize, !gzip else { return }
        let actual = FileSystem.size(of: path)
        guard actual == fileSize else {
            throw FileErrors.file(
                path,
                "it is \(actual.map { "\($0) bytes" } ?? "unreadable") long, not the \(fileSize) bytes it had when it "
                    + "was partitioned: it changed since, so its byte ranges no longer fall on record boundaries")
        }
    }
}
