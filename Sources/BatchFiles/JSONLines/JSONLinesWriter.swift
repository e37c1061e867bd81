import Batch
import Foundation

/// Writes `Encodable` items to a JSON Lines file: each item as one line of JSON, UTF-8, `\n` after each.
///
/// ```swift
/// ChunkStep("export-events", chunkSize: 1_000,
///           reader: { _ in eventReader },
///           writer: { _ in JSONLinesWriter<Event>(path: "/data/out/events.jsonl.gz") })
/// ```
///
/// Restart and completion are those of ``CSVWriter``: it writes `<path>.part`, saves the file's length with each
/// committed chunk (`<name>.offset`, `<name>.count`), truncates back to it on a restart or a chunk rollback, and
/// renames the file into place (after writing any checksum files) when the step completes.
public struct JSONLinesWriter<Item: Encodable>: ItemWriter {
    private let path: String
    private let configuration: FileWriterConfiguration
    private let encoder: JSONEncoder
    private let keys: WriterKeys
    private var output: FileOutput?
    private var count: Int64 = 0
    private var buffer: [UInt8] = []

    /// Creates a writer; the temporary file is created (or reopened for a restart) when the step opens it.
    /// - Parameters:
    ///   - path: the file to produce; gzip-compressed when it ends in `.gz`, unless the configuration says otherwise.
    ///   - configuration: compression, the temporary suffix, checksum files, syncing.
    ///   - name: prefixes this writer's entries in the step context.
    ///   - encoder: encodes the items; pass one with your date or key strategies. It must not pretty-print (a
    ///     record is one line).
    public init(
        path: String, configuration: FileWriterConfiguration = FileWriterConfiguration(), name: String = "writer",
        encoder: JSONEncoder = JSONEncoder()
    ) {
        self.path = path
        self.configuration = configuration
        self.encoder = encoder
        self.keys = WriterKeys(name)
    }

    /// Creates the temporary file, or reopens it and truncates it to the saved length on a restart.
    /// - Throws: ``BatchError/Code/invalidDefinition`` for a pretty-printing encoder;
    ///   ``BatchError/Code/fileFailure`` when the file cannot be created, or the temporary file of the last run is
    ///   missing or shorter than saved.
    public mutating func open(_ context: ExecutionContext) async throws {
        guard !encoder.outputFormatting.contains(.prettyPrinted) else {
            throw FileErrors.definition(
                "JSONLinesWriter for '\(path)': the encoder pretty-prints, but a JSON Lines record is one line")
        }
        let output = try FileOutput(path: path, configuration: configuration)
        try output.open(resumingAt: context.int(keys.offset).map(Int64.init))
        self.output = output
        count = Int64(context.int(keys.count) ?? 0)
    }

    /// Appends the chunk's items, one line each.
    /// - Throws: ``BatchError/Code/malformedRecord`` for an item that does not encode (nothing of the chunk is
    ///   written then); ``BatchError/Code/fileFailure`` when writing fails.
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        guard let output else {
            throw BatchError(.invalidState, "JSONLinesWriter for '\(path)' written before it was opened")
        }
        buffer.removeAll(keepingCapacity: true)
        for (position, item) in items.enumerated() {
            do {
                buffer.append(contentsOf: try encoder.encode(item))
            } catch {
                throw FileErrors.unwritable(path, record: count + Int64(position) + 1, field: nil, "\(error)")
            }
            buffer.append(0x0A)
        }
        try buffer.withUnsafeBytes { try output.append($0) }
        count += Int64(items.count)
    }

    /// Saves the file's length and the record count.
    public func update(_ context: inout ExecutionContext) {
        guard let output else { return }
        context[keys.offset] = .int(output.length)
        context[keys.count] = .int(count)
    }

    /// Truncates the file back to the length saved with the last committed chunk.
    public mutating func rollback(to committed: ExecutionContext) async throws {
        try output?.truncate(to: Int64(committed.int(keys.offset) ?? 0))
        count = Int64(committed.int(keys.count) ?? 0)
    }

    /// On COMPLETED, syncs the file, writes its checksum files and renames it into place; otherwise closes it and
    /// leaves it under its temporary name for a restart.
    public mutating func close(_ status: BatchStatus) async throws {
        defer { output = nil }
        if status == .completed {
            try output?.finish()
        } else {
            output?.closeTemporaryFile()
        }
    }
}
