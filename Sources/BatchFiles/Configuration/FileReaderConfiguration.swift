import Batch

/// How a file reader opens and checks its file; shared by ``CSVReader``, ``TSVReader`` and ``JSONLinesReader``.
public struct FileReaderConfiguration: Sendable, Hashable {
    /// Whether the file is gzip-compressed: by default when its path ends in `.gz`.
    public var compression: FileCompression
    /// The longest record accepted, in bytes with its line break (default 1 MiB). A longer one is refused with a
    /// ``BatchError/Code/malformedRecord`` error naming the file and line, after buffering at most this much.
    public var maxRecordLength: Int
    /// The most lines one CSV or TSV record may run over (default 100): a quoted field with line breaks in it
    /// makes a record of several lines, and a quote that is never closed would make one of every line up to the
    /// next quote. A record that runs longer is refused with a ``BatchError/Code/malformedRecord`` error naming
    /// the line it starts on, and reading resumes on the line after that one (as after any malformed record).
    /// Lines are counted by their line feeds. JSON Lines records are one line each.
    public var maxRecordLines: Int
    /// When set, the file is checked against its checksum file (`<path>.md5` or `<path>.sha256`) when the reader
    /// opens, before anything is read; a mismatch fails the step with ``BatchError/Code/checksumMismatch``.
    public var checksum: ChecksumAlgorithm?
    /// The checksum file to check against, when it is not `<path>.<algorithm>`.
    public var checksumPath: String?
    /// When set, the reader reads only the records starting in this byte range of the file (a partition of it, see
    /// ``FileRangePartitioner``), keeping its position within it; nil reads the whole file.
    public var range: FileByteRange?

    /// Creates a configuration.
    /// - Parameters:
    ///   - compression: gzip or not; by default from the extension.
    ///   - maxRecordLength: the longest record accepted, in bytes.
    ///   - maxRecordLines: the most lines a CSV or TSV record may run over.
    ///   - checksum: the checksum file to verify before reading, if any.
    ///   - checksumPath: where that checksum file is, if not beside the file.
    ///   - range: the byte range to read, nil for the whole file.
    public init(
        compression: FileCompression = .automatic, maxRecordLength: Int = 1 << 20, maxRecordLines: Int = 100,
        checksum: ChecksumAlgorithm? = nil, checksumPath: String? = nil, range: FileByteRange? = nil
    ) {
        self.compression = compression
        self.maxRecordLength = maxRecordLength
        self.maxRecordLines = maxRecordLines
        self.checksum = checksum
        self.checksumPath = checksumPath
        self.range = range
    }

    /// This configuration reading only `range` (nil: the whole file).
    public func reading(_ range: FileByteRange?) -> FileReaderConfiguration {
        var copy = self
        copy.range = range
        return copy
    }

    func validate(_ path: String) throws {
        guard maxRecordLength >= 1 else {
            throw FileErrors.definition("reader for '\(path)': maxRecordLength must be at least 1")
        }
        guard maxRecordLines >= 1 else {
            throw FileErrors.definition("reader for '\(path)': maxRecordLines must be at least 1")
        }
        try range?.validate(path)
    }

    /// Opens `path` for a reader: checks this configuration, verifies the checksum when one is asked for, and checks
    /// that the range fits the file. Returns the input and whether it is gzip-compressed.
    /// - Throws: ``BatchError/Code/checksumMismatch``, ``BatchError/Code/fileFailure``, or a definition error.
    func openInput(_ path: String) throws -> (input: FileInput, gzip: Bool) {
        try validate(path)
        let gzip = compression.isGzip(path)
        let input = try FileInput(path: path, gzip: gzip, maxRecordLength: maxRecordLength)
        if let checksum {
            // Through the descriptor the reader reads: the bytes verified are the bytes read.
            try Checksum.verify(path, checksum, checksumPath: checksumPath) { try input.forEachRawBlock($0) }
        }
        try range?.checkSize(path, gzip: gzip)
        return (input, gzip)
    }
}
