import Batch
/// How a file writer writes, restarts and finishes its file; shared by ``CSVWriter``, ``TSVWriter`` and
/// ``JSONLinesWriter``.
///
/// A writer writes to `<path><temporarySuffix>` and renames it to `path` when the step completes. Each chunk is
/// written before the chunk commits, and the file's length after it is saved in the step context with the commit;
/// a restart truncates the temporary file back to that length and appends, so every record is in the finished
/// file exactly once.
public struct FileWriterConfiguration: Sendable, Hashable {
    /// Whether to gzip the output: by default when the path ends in `.gz`. Each chunk becomes one gzip member
    /// (gzip files may hold several, and `gunzip`, `zcat` and zlib read them as one stream), so the file can be
    /// truncated back to any committed chunk.
    public var compression: FileCompression
    /// The zlib compression level, from 1 (fastest) to 9 (smallest); default 6.
    public var compressionLevel: Int
    /// Appended to the path to name the file written until the step completes (default `.part`).
    public var temporarySuffix: String
    /// The checksum files to write beside the output when the step completes (`<path>.md5`, `<path>.sha256`).
    public var checksums: [ChecksumAlgorithm]
    /// Whether to `fsync` the file after every chunk, before the chunk commits (default false: the data reaches
    /// the disk at the end of the step). Set it when a machine crash must not lose data of committed chunks.
    public var syncEachChunk: Bool
    /// Whether a file already at `path` may be replaced (default true); when false a fresh step execution fails
    /// at open instead.
    public var replacesExistingFile: Bool

    /// Creates a configuration.
    /// - Parameters:
    ///   - compression: gzip or not; by default from the extension.
    ///   - compressionLevel: zlib level, 1...9.
    ///   - temporarySuffix: the suffix of the file written until the step completes.
    ///   - checksums: checksum files to write when the step completes.
    ///   - syncEachChunk: whether to `fsync` after every chunk.
    ///   - replacesExistingFile: whether an existing file at the path may be replaced.
    public init(
        compression: FileCompression = .automatic, compressionLevel: Int = 6, temporarySuffix: String = ".part",
        checksums: [ChecksumAlgorithm] = [], syncEachChunk: Bool = false, replacesExistingFile: Bool = true
    ) {
        self.compression = compression
        self.compressionLevel = compressionLevel
        self.temporarySuffix = temporarySuffix
        self.checksums = checksums
        self.syncEachChunk = syncEachChunk
        self.replacesExistingFile = replacesExistingFile
    }

    func validate(_ path: String) throws {
        guard !temporarySuffix.isEmpty else {
            throw FileErrors.definition("writer for '\(path)': temporarySuffix must not be empty")
        }
        guard (1...9).contains(compressionLevel) else {
            throw FileErrors.definition("writer for '\(path)': compressionLevel must be 1...9, got \(compressionLevel)")
        }
    }
}
