import Batch

/// The file a partition reads, and the byte range of it when the file was split: what ``FileRangePartitioner`` and
/// ``FileSetPartitioner`` put in each partition's context, read back by the partition's reader factory.
///
/// The file is kept by its name inside the data directory, never as a path: each worker resolves it through its own
/// ``DataDirectory`` (`BATCH_DATA_DIR`), so a partition can only name a file inside it (an absolute path, `..` or a
/// symbolic link leading out is refused), and the files must be on storage every worker sees at the same place.
///
/// ```swift
/// ChunkStep("load-part", chunkSize: 1_000,
///           reader: { context in
///               let partition = try FilePartition(context)
///               return CSVReader<Entry>(path: try await partition.path(context),
///                                       configuration: partition.configuration())
///           },
///           writer: { _ in entryWriter })
/// ```
public struct FilePartition: Sendable, Hashable {
    /// The context key of the file's name inside the data directory.
    public static let nameKey = "file.name"
    /// The context key of the range's first byte.
    public static let startKey = "file.start"
    /// The context key of the byte the range ends before.
    public static let endKey = "file.end"
    /// The context key of the line number at the range's start.
    public static let lineKey = "file.line"
    /// The context key of the file's size when it was split.
    public static let sizeKey = "file.size"

    /// The file's name inside the data directory (it may hold subdirectories).
    public var name: String
    /// The part of the file to read; nil for the whole file.
    public var range: FileByteRange?

    /// Creates a partition.
    /// - Parameters:
    ///   - name: the file's name inside the data directory.
    ///   - range: the part to read, nil for the whole file.
    public init(name: String, range: FileByteRange? = nil) {
        self.name = name
        self.range = range
    }

    /// The partition a step context describes (the step runs as a partition of a file partitioner).
    /// - Throws: ``BatchError/Code/invalidState`` when the context names no file or holds a partial range.
    public init(_ context: StepContext) throws {
        try self.init(context: context.stepContext)
    }

    /// The partition an execution context describes.
    /// - Throws: ``BatchError/Code/invalidState`` when the context names no file or holds a partial range.
    public init(context: ExecutionContext) throws {
        guard let name = context.string(Self.nameKey) else {
            throw BatchError(
                .invalidState,
                "the step context names no file ('\(Self.nameKey)'): is the step a partition of a file partitioner?")
        }
        self.name = name
        guard let start = context[Self.startKey] else {
            range = nil
            return
        }
        guard let start = start.intValue, let line = context.int(Self.lineKey) else {
            throw BatchError(.invalidState, "the step context's byte range of '\(name)' is incomplete")
        }
        range = FileByteRange(
            start: start, end: context[Self.endKey]?.intValue, firstLine: line,
            fileSize: context[Self.sizeKey]?.intValue)
    }

    /// The partition as the entries of its initial context.
    public var context: ExecutionContext {
        var context = ExecutionContext([Self.nameKey: .string(name)])
        if let range {
            context[Self.startKey] = .int(range.start)
            context[Self.lineKey] = .int(Int64(range.firstLine))
            if let end = range.end { context[Self.endKey] = .int(end) }
            if let size = range.fileSize { context[Self.sizeKey] = .int(size) }
        }
        return context
    }

    /// The file's path in `directory`.
    /// - Throws: ``BatchError/Code/invalidParameters`` when the name leaves the directory (see
    ///   ``DataDirectory/resolve(_:)``).
    public func path(in directory: DataDirectory) throws -> String {
        try directory.resolve(name)
    }

    /// The file's path in the step's data directory (``StepContext/dataDirectory``).
    /// - Throws: ``BatchError/Code/invalidParameters`` when the name leaves the directory.
    public func path(_ context: StepContext) async throws -> String {
        try path(in: try await context.dataDirectory)
    }

    /// `base` reading this partition's range (the whole file when it has none).
    public func configuration(_ base: FileReaderConfiguration = FileReaderConfiguration()) -> FileReaderConfiguration {
        base.reading(range)
    }
}

/// `<prefix>-<index>`, the index zero-padded to the width of the largest so the names sort in order.
func partitionName(_ prefix: String, _ index: Int, of count: Int) -> String {
    let number = String(index)
    let width = String(max(count - 1, 0)).count
    return "\(prefix)-\(String(repeating: "0", count: max(width - number.count, 0)))\(number)"
}
