import Batch

/// Splits one CSV, TSV or JSON Lines file into byte ranges cut at record boundaries, one partition each, so the
/// partitions of a step (local, or spread over workers) each read a part of one big file.
///
/// The partitioner reads the file once, straight through with the reader's own parser (no decoding), and cuts after
/// the first record that ends at or past each `size / gridSize` mark: so a cut never falls inside a record, a quoted
/// field with line breaks in it included, and malformed records fall where the reader would find them. Every record
/// is in exactly one range; the ranges hold about equal bytes and at least one record each — fewer partitions than
/// asked when the file has fewer records, **none** for a file without records (the step then completes at once). A
/// CSV or TSV header is in no range: each range's reader reads it from the start of the file.
///
/// A gzip file cannot be split (reaching a byte of it means decompressing all before it): it makes **one** partition
/// reading the whole file.
///
/// Finding the cuts costs one sequential read of the file; the readers then read each byte once more between them.
/// A checksum is best verified once, by a ``ChecksumTasklet`` step before the partitioned one, rather than by every
/// range's reader (``FileReaderConfiguration/checksum`` reads the whole file in each).
///
/// Each partition's context holds the file's name and its range (``FilePartition``); its reader resumes within the
/// range after a restart. The file is named inside the data directory (``DataDirectory``, `BATCH_DATA_DIR`), so it
/// must be on storage every worker sees at the same place.
///
/// ```swift
/// PartitionStep("load", partitions: 8,
///               partitioner: FileRangePartitioner(format: .csv) { context in
///                   "entries-\(try context.parameters.day("date")).csv"      // a name in BATCH_DATA_DIR
///               },
///               step: ChunkStep("load-part", chunkSize: 1_000,
///                               reader: { context in
///                                   let partition = try FilePartition(context)
///                                   return CSVReader<Entry>(path: try await partition.path(context),
///                                                           configuration: partition.configuration())
///                               },
///                               writer: { _ in entryWriter }))
/// ```
public struct FileRangePartitioner: Partitioner {
    /// How the file's records are delimited.
    public enum Format: Sendable, Hashable {
        /// CSV or TSV in the given dialect (pass the reader's).
        case delimited(CSVFormat)
        /// JSON Lines: one record per line.
        case jsonLines

        /// CSV (``CSVFormat/csv``).
        public static let csv = Format.delimited(.csv)
        /// TSV (``CSVFormat/tsv``).
        public static let tsv = Format.delimited(.tsv)
    }

    /// How the records are delimited.
    public let format: Format
    /// The readers' configuration: its compression and record limits decide the cuts (pass the readers').
    public let configuration: FileReaderConfiguration
    /// The prefix of the partitions' names (`<prefix>-0`, ...).
    public let prefix: String
    private let file: @Sendable (StepContext) async throws -> String

    /// Creates a partitioner of the file `name` in the data directory.
    /// - Parameters:
    ///   - name: the file's name inside the data directory.
    ///   - format: how its records are delimited.
    ///   - configuration: the readers' configuration (compression, record limits).
    ///   - prefix: the prefix of the partitions' names (no `:`).
    public init(
        file name: String, format: Format, configuration: FileReaderConfiguration = FileReaderConfiguration(),
        prefix: String = "part"
    ) {
        self.init(format: format, configuration: configuration, prefix: prefix) { _ in name }
    }

    /// Creates a partitioner whose file is named when the step starts, typically from the job parameters.
    /// - Parameters:
    ///   - format: how its records are delimited.
    ///   - configuration: the readers' configuration (compression, record limits).
    ///   - prefix: the prefix of the partitions' names (no `:`).
    ///   - file: the file's name inside the data directory.
    public init(
        format: Format, configuration: FileReaderConfiguration = FileReaderConfiguration(), prefix: String = "part",
        file: @escaping @Sendable (StepContext) async throws -> String
    ) {
        self.format = format
        self.configuration = configuration
        self.prefix = prefix
        self.file = file
    }

    /// The partitions: one per byte range of the file (see the type's description).
    /// - Throws: ``BatchError/Code/invalidParameters`` for a name outside the data directory,
    ///   ``BatchError/Code/fileFailure`` when the file cannot be read, ``BatchError/Code/malformedRecord`` for a
    ///   malformed CSV header.
    public func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        let name = try await file(context)
        let path = try await context.dataDirectory.resolve(name)
        let partitions = try ranges(of: path, count: gridSize).map { FilePartition(name: name, range: $0) }
        var contexts: [String: ExecutionContext] = [:]
        for (index, partition) in partitions.enumerated() {
            contexts[partitionName(prefix, index, of: partitions.count)] = partition.context
        }
        return contexts
    }

    /// The byte ranges of the file at `path` for `count` partitions: nil in place of a range for a gzip file (one
    /// partition, the whole file).
    /// - Throws: ``BatchError/Code/fileFailure`` when it cannot be read.
    public func ranges(of path: String, count: Int) throws -> [FileByteRange?] {
        try configuration.validate(path)
        if configuration.compression.isGzip(path) {
            guard FileSystem.exists(path) else { throw FileErrors.file(path, "there is no such file to partition") }
            return [nil]
        }
        switch format {
        case .delimited(let format):
            return try RecordBoundaries.delimited(
                path: path, format: format, configuration: configuration, count: count)
        case .jsonLines:
            return try RecordBoundaries.jsonLines(path: path, configuration: configuration, count: count)
        }
    }
}
