import Batch

/// Writes `Encodable` items to a CSV file, one record each, under a header naming the columns.
///
/// ```swift
/// struct Posting: Encodable { var account: String; var amount: Decimal; var memo: String? }
///
/// ChunkStep("export", chunkSize: 1_000,
///           reader: { _ in ledgerReader },
///           writer: { context in
///               CSVWriter<Posting>(
///                   // e.g. out/ledger.csv.gz, inside BATCH_DATA_DIR whatever the parameter says
///                   path: try await context.dataDirectory.resolve(try context.parameters.string("out")),
///                   format: CSVFormat(columns: ["account", "amount", "memo"]),
///                   configuration: FileWriterConfiguration(checksums: [.sha256]))
///           })
/// ```
///
/// - Mapping: each coding key is a column; see ``CSVFormat/columns`` for choosing and ordering them, and
///   ``CSVFormat`` for the dialect (fields holding a delimiter, quote or line break are quoted per RFC 4180).
/// - Restart: the writer writes `<path>.part` (``FileWriterConfiguration/temporarySuffix``). Each chunk is written
///   before the chunk commits, and the file's length after it is saved in the step context (`<name>.offset`, with
///   `<name>.count` records and `<name>.columns`) with the commit. A restarted step truncates the temporary file back
///   to that length — dropping the records of the chunk that failed — and appends, so every record is in the
///   file exactly once. A chunk rolled back for a retry or a skip is truncated away the same way.
/// - Completion: when the step completes, the file is synced, its checksum files (if any) are written, and it is
///   renamed to `path`. A stopped or failed step leaves `<path>.part` for its restart; `path` appears only
///   complete.
public struct CSVWriter<Item: Encodable>: ItemWriter {
    private let path: String
    private let format: CSVFormat
    private let configuration: FileWriterConfiguration
    private let name: String
    private var state: CSVWriterState?

    /// Creates a writer; the temporary file is created (or reopened for a restart) when the step opens it.
    /// - Parameters:
    ///   - path: the file to produce; gzip-compressed when it ends in `.gz`, unless the configuration says
    ///     otherwise.
    ///   - format: the dialect (default ``CSVFormat/csv``).
    ///   - configuration: compression, the temporary suffix, checksum files, syncing.
    ///   - name: prefixes this writer's entries in the step context.
    public init(
        path: String, format: CSVFormat = .csv, configuration: FileWriterConfiguration = FileWriterConfiguration(),
        name: String = "writer"
    ) {
        self.path = path
        self.format = format
        self.configuration = configuration
        self.name = name
    }

    /// Creates the temporary file, or reopens it and truncates it to the saved length on a restart.
    /// - Throws: ``BatchError/Code/fileFailure`` when the file cannot be created, or the temporary file of the
    ///   last run is missing or shorter than saved.
    public mutating func open(_ context: ExecutionContext) async throws {
        state = try CSVWriterState(
            path: path, format: format, configuration: configuration, context: context, name: name)
    }

    /// Appends the chunk's records (and the header before the first).
    /// - Throws: ``BatchError/Code/malformedRecord`` for an item that cannot be a record (nothing of the chunk is
    ///   written then); ``BatchError/Code/fileFailure`` when writing fails.
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        guard let state else { throw BatchError(.invalidState, "CSVWriter for '\(path)' written before it was opened") }
        try state.write(items)
    }

    /// Saves the file's length, the record count and the columns.
    public func update(_ context: inout ExecutionContext) {
        state?.update(&context)
    }

    /// Truncates the file back to the length saved with the last committed chunk.
    public mutating func rollback(to committed: ExecutionContext) async throws {
        try state?.rollback(to: committed)
    }

    /// On COMPLETED, syncs the file, writes its checksum files and renames it into place; otherwise closes it and
    /// leaves it under its temporary name for a restart.
    public mutating func close(_ status: BatchStatus) async throws {
        defer { state = nil }
        try state?.close(status)
    }
}

/// Writes `Encodable` items to a TSV file: a ``CSVWriter`` with ``CSVFormat/tsv`` (tab-separated, quoted like CSV) as
/// its default format; pass ``CSVFormat/linearTSV`` for backslash escapes instead of quotes. It restarts and
/// completes as ``CSVWriter`` does.
///
/// ```swift
/// ChunkStep("export", chunkSize: 1_000, reader: { _ in rows },
///           writer: { _ in TSVWriter<Row>(path: "/data/out/rows.tsv", format: .linearTSV) })
/// ```
public struct TSVWriter<Item: Encodable>: ItemWriter {
    private var writer: CSVWriter<Item>

    /// Creates a writer.
    /// - Parameters:
    ///   - path: the file to produce; gzip-compressed when it ends in `.gz`.
    ///   - format: the dialect (default ``CSVFormat/tsv``).
    ///   - configuration: compression, the temporary suffix, checksum files, syncing.
    ///   - name: prefixes this writer's entries in the step context.
    public init(
        path: String, format: CSVFormat = .tsv, configuration: FileWriterConfiguration = FileWriterConfiguration(),
        name: String = "writer"
    ) {
        writer = CSVWriter(path: path, format: format, configuration: configuration, name: name)
    }

    /// Creates the temporary file, or reopens and truncates it on a restart.
    public mutating func open(_ context: ExecutionContext) async throws { try await writer.open(context) }
    /// Appends the chunk's records.
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        try await writer.write(items, in: transaction)
    }
    /// Saves the file's length.
    public func update(_ context: inout ExecutionContext) { writer.update(&context) }
    /// Truncates the file back to the last committed chunk.
    public mutating func rollback(to committed: ExecutionContext) async throws {
        try await writer.rollback(to: committed)
    }
    /// Renames the file into place on COMPLETED; otherwise leaves it for a restart.
    public mutating func close(_ status: BatchStatus) async throws { try await writer.close(status) }
}

/// An open CSV writer: the output file, the record encoder and the position keys.
final class CSVWriterState {
    private let output: FileOutput
    private let record: CSVRecordEncoding
    private let format: CSVFormat
    private let keys: WriterKeys
    private var count: Int64 = 0
    private var buffer: [UInt8] = []

    init(
        path: String, format: CSVFormat, configuration: FileWriterConfiguration, context: ExecutionContext,
        name: String
    ) throws {
        keys = WriterKeys(name)
        self.format = format
        let offset = context.int(keys.offset).map(Int64.init)
        let saved = context[keys.columns]?.arrayValue?.compactMap(\.stringValue)
        record = try CSVRecordEncoding(path: path, format: format, columns: format.columns ?? saved)
        output = try FileOutput(path: path, configuration: configuration)
        try output.open(resumingAt: offset)
        count = Int64(context.int(keys.count) ?? 0)
        record.recordNumber = count
    }

    func write<Item: Encodable>(_ items: [Item]) throws {
        buffer.removeAll(keepingCapacity: true)
        let recordNumber = record.recordNumber
        do {
            for item in items { try record.append(item, to: &buffer) }
            if format.hasHeader, output.length == 0 {
                var header: [UInt8] = []
                try record.appendHeader(to: &header)
                buffer.insert(contentsOf: header, at: 0)
            }
        } catch {
            record.recordNumber = recordNumber
            throw error
        }
        try buffer.withUnsafeBytes { try output.append($0) }
        count += Int64(items.count)
    }

    func update(_ context: inout ExecutionContext) {
        context[keys.offset] = .int(output.length)
        context[keys.count] = .int(count)
        if record.isSettled { context[keys.columns] = .array(record.columns.map { .string($0) }) }
    }

    func rollback(to committed: ExecutionContext) throws {
        try output.truncate(to: Int64(committed.int(keys.offset) ?? 0))
        count = Int64(committed.int(keys.count) ?? 0)
        record.recordNumber = count
        if format.columns == nil {
            let saved = committed[keys.columns]?.arrayValue?.compactMap(\.stringValue)
            record.resetColumns(saved, settled: saved != nil)
        }
    }

    func close(_ status: BatchStatus) throws {
        if status == .completed {
            if format.hasHeader, output.length == 0, record.isSettled {
                buffer.removeAll(keepingCapacity: true)
                try record.appendHeader(to: &buffer)
                try buffer.withUnsafeBytes { try output.append($0) }
            }
            try output.finish()
        } else {
            output.closeTemporaryFile()
        }
    }
}

/// The step-context keys of a file writer.
struct WriterKeys {
    let offset: String
    let count: String
    let columns: String

    init(_ name: String) {
        offset = name + ".offset"
        count = name + ".count"
        columns = name + ".columns"
    }
}
