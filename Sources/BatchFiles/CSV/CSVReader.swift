import Batch

/// Reads a CSV file (RFC 4180) record by record, decoding each into `Item` by header name (or making it with a
/// closure from a ``CSVRecord``: see ``init(path:format:configuration:name:map:)``).
///
/// ```swift
/// struct Entry: Decodable { var account: String; var amount: Decimal; var memo: String? }
///
/// ChunkStep("post-entries", chunkSize: 500,
///           reader: { context in   // a file named by a parameter, inside BATCH_DATA_DIR: a message names no other
///               CSVReader<Entry>(path: try await context.dataDirectory.resolve(try context.parameters.string("file")))
///           },
///           processor: { entry in entry.amount == 0 ? nil : Posting(entry) },
///           writer: { _ in LedgerWriter() })
/// ```
///
/// - Mapping: the header names the columns; each coding key of `Item` takes the field of the column with its name
///   (extra columns are ignored, a missing one is an error unless the property is optional). Without a header,
///   name the columns with ``CSVFormat/columns`` or decode by position (integer coding keys, or `[String]`). See
///   ``CSVFormat`` for the dialect and ``FileReaderConfiguration`` for gzip, the record length limit and checksums.
/// - Restart: the byte offset after the last record of each committed chunk, the line number and the record count
///   are saved in the step context under `<name>.offset`, `<name>.line` and `<name>.count` (the records taken from
///   the file: returned or refused, each once; not the header or blank lines). A restarted step seeks
///   straight to the offset (for a `.gz` file it decompresses up to it) and goes on with the next record: no record
///   is read twice or missed.
/// - Ranges: with ``FileReaderConfiguration/range`` set (a partition from ``FileRangePartitioner``), the reader reads
///   the header from the start of the file, then only the records that start inside the range, and resumes within
///   it on restart:
///   ```swift
///   reader: { context in
///       let partition = try FilePartition(context)
///       return CSVReader<Entry>(path: try await partition.path(context), configuration: partition.configuration())
///   }
///   ```
/// - Errors: a malformed record, one with the wrong number of fields, one over the length limit, or a field that
///   does not decode (or is not valid UTF-8) throws ``BatchError/Code/malformedRecord`` naming the file, the line
///   and the field: `orders.csv, line 12, field 'amount' (column 3): expected a decimal number, found 'n/a'`. A
///   field decodes whole or not at all ("1.2.3" is no decimal). After a structural error (a misplaced or unclosed
///   quote, a record over ``FileReaderConfiguration/maxRecordLines`` or ``FileReaderConfiguration/maxRecordLength``)
///   the reader resumes on the line after the one the bad record starts on, which the error names; after a record
///   that parsed (the wrong number of fields, a ``CSVFieldCountError``, or a field that does not decode), after the
///   record. So a skip policy can skip it; the error carries the skipped bytes (a ``RawRecordError``), which the
///   read skip records.
public struct CSVReader<Item>: ItemReader {
    private let path: String
    private let format: CSVFormat
    private let configuration: FileReaderConfiguration
    private let name: String
    /// Makes an item of the current record.
    private let map: (CSVRecordSource) throws -> Item
    private var state: CSVReaderState?
    private var sized: FileReadProgress?

    /// Creates a reader decoding each record into `Item` by header name; the file is opened (and its checksum
    /// verified) when the step opens the reader.
    /// - Parameters:
    ///   - path: the file to read; gzip-compressed when it ends in `.gz`, unless the configuration says otherwise.
    ///   - format: the dialect (default ``CSVFormat/csv``: comma, RFC 4180 quotes, header, UTF-8).
    ///   - configuration: compression, the record length limit, a checksum to verify.
    ///   - name: prefixes this reader's entries in the step context; give two readers of one step different names.
    public init(
        path: String, format: CSVFormat = .csv, configuration: FileReaderConfiguration = FileReaderConfiguration(),
        name: String = "reader"
    ) where Item: Decodable {
        self.init(path: path, format: format, configuration: configuration, name: name) { record in
            try Item(from: CSVRecordDecoder(record: record))
        }
    }

    /// Creates a reader making each item with `map` from a ``CSVRecord``: the fastest way to read a large file,
    /// with the same field conversions, errors, restart and ranges as the `Decodable` path.
    /// - Parameters:
    ///   - path: the file to read; gzip-compressed when it ends in `.gz`, unless the configuration says otherwise.
    ///   - format: the dialect (default ``CSVFormat/csv``).
    ///   - configuration: compression, the record length limit, a checksum to verify.
    ///   - name: prefixes this reader's entries in the step context.
    ///   - map: the item of a record; what it throws is reported as ``BatchError/Code/malformedRecord`` naming the
    ///     file, the line and (for a ``CSVRecord`` error) the field.
    public init(
        path: String, format: CSVFormat = .csv, configuration: FileReaderConfiguration = FileReaderConfiguration(),
        name: String = "reader", map: @escaping @Sendable (CSVRecord) throws -> Item
    ) {
        self.init(path: path, format: format, configuration: configuration, name: name) { record in
            try map(CSVRecord(source: record))
        }
    }

    private init(
        path: String, format: CSVFormat, configuration: FileReaderConfiguration, name: String,
        source map: @escaping (CSVRecordSource) throws -> Item
    ) {
        self.path = path
        self.format = format
        self.configuration = configuration
        self.name = name
        self.map = map
    }

    /// Verifies the checksum if asked, opens the file, reads the header and moves to the saved position.
    /// - Throws: ``BatchError/Code/checksumMismatch``, ``BatchError/Code/fileFailure`` or
    ///   ``BatchError/Code/malformedRecord`` (a malformed header).
    public mutating func open(_ context: ExecutionContext) async throws {
        state = try CSVReaderState(
            path: path, format: format, configuration: configuration, context: context, name: name)
        sized = FileReadProgress(path: path, gzip: configuration.compression.isGzip(path), range: configuration.range)
    }

    /// Bytes read of the file (or of its range); nil for gzip.
    public var progress: (done: Int64, total: Int64)? { state.flatMap { state in sized?.at(state.position) } }

    /// The next record as an `Item`, or nil at the end of the file.
    /// - Throws: ``BatchError/Code/malformedRecord`` naming the file, line and field.
    public mutating func read() async throws -> Item? {
        guard let state else { throw BatchError(.invalidState, "CSVReader for '\(path)' read before it was opened") }
        return try state.next(map)
    }

    /// Saves the offset after the last record read, its line and the count of records read.
    public func update(_ context: inout ExecutionContext) {
        state?.update(&context)
    }

    /// Closes the file.
    public mutating func close(_ status: BatchStatus) async throws {
        state = nil
    }
}

/// A TSV file: a ``CSVReader`` with ``CSVFormat/tsv`` (tab-separated, quoted like CSV) as its default format. Pass
/// ``CSVFormat/linearTSV`` for backslash escapes instead of quotes.
///
/// ```swift
/// ChunkStep("load", chunkSize: 1_000,
///           reader: { _ in TSVReader<Row>(path: "/data/in/rows.tsv.gz") },
///           writer: { _ in rowWriter })
/// ```
/// It keeps its position and reports malformed records as ``CSVReader`` does.
public struct TSVReader<Item>: ItemReader {
    private var reader: CSVReader<Item>

    /// Creates a reader decoding each record into `Item` by header name.
    /// - Parameters:
    ///   - path: the file to read; gzip-compressed when it ends in `.gz`.
    ///   - format: the dialect (default ``CSVFormat/tsv``).
    ///   - configuration: compression, the record length limit, a checksum to verify.
    ///   - name: prefixes this reader's entries in the step context.
    public init(
        path: String, format: CSVFormat = .tsv, configuration: FileReaderConfiguration = FileReaderConfiguration(),
        name: String = "reader"
    ) where Item: Decodable {
        reader = CSVReader(path: path, format: format, configuration: configuration, name: name)
    }

    /// Creates a reader making each item with `map` from a ``CSVRecord``, as
    /// ``CSVReader/init(path:format:configuration:name:map:)`` does.
    public init(
        path: String, format: CSVFormat = .tsv, configuration: FileReaderConfiguration = FileReaderConfiguration(),
        name: String = "reader", map: @escaping @Sendable (CSVRecord) throws -> Item
    ) {
        reader = CSVReader(path: path, format: format, configuration: configuration, name: name, map: map)
    }

    /// Opens the file and moves to the saved position.
    public mutating func open(_ context: ExecutionContext) async throws { try await reader.open(context) }
    /// The next record as an `Item`, or nil at the end of the file.
    public mutating func read() async throws -> Item? { try await reader.read() }
    /// Saves the position after the last record read.
    public func update(_ context: inout ExecutionContext) { reader.update(&context) }
    /// Closes the file.
    public mutating func close(_ status: BatchStatus) async throws { try await reader.close(status) }
    /// Bytes read of the file (or of its range); nil for gzip.
    public var progress: (done: Int64, total: Int64)? { reader.progress }
}

extension CSVReader: ProgressReportingReader {}
extension TSVReader: ProgressReportingReader {}

/// An open CSV reader: the parser, the column names and the position keys.
final class CSVReaderState {
    private let record: CSVRecordSource
    private var count: Int64 = 0
    private let keys: ReaderKeys
    /// The offset the reader's byte range ends before, if it reads a range.
    private let rangeEnd: Int64?
    /// The read position in the file.
    var position: Int64 { record.parser.input.position }

    init(
        path: String, format: CSVFormat, configuration: FileReaderConfiguration, context: ExecutionContext,
        name: String
    ) throws {
        let input = try configuration.openInput(path).input
        let parser = try CSVParser(
            input: input, format: format, maxRecordLength: configuration.maxRecordLength,
            maxRecordLines: configuration.maxRecordLines)
        if format.encoding == .utf8 { try parser.skipByteOrderMark() }
        var columns = format.columns
        if format.hasHeader, try parser.next() {
            var header: [String] = []
            for index in 0..<parser.fieldCount {
                let text = format.encoding.decode(parser.bytes(of: index))
                guard let text else {
                    throw FileErrors.malformed(
                        path, line: parser.recordLine, field: FieldName(index: index),
                        "the header is not valid \(format.encoding)")
                }
                header.append(text)
            }
            columns = columns ?? header
        }
        keys = ReaderKeys(name)
        rangeEnd = configuration.range?.end
        if let offset = context.int(keys.offset) {
            try input.seek(to: Int64(offset))
            parser.line = context.int(keys.line) ?? parser.line
            count = Int64(context.int(keys.count) ?? 0)
        } else if let range = configuration.range, range.start > input.position {
            // A range after the header: its records start at `start` (a record boundary), on line `firstLine`.
            try input.seek(to: range.start)
            parser.line = range.firstLine
        }
        record = CSVRecordSource(parser: parser, encoding: format.encoding, columns: columns)
    }

    /// Whether a record that starts at `offset` lies past the end of the range: then the parser moves back to it
    /// (the next range's reader reads it) and this reader is at its end.
    private func isPastRange(_ offset: Int64?) throws -> Bool {
        guard let rangeEnd, let offset, offset >= rangeEnd else { return false }
        let parser = record.parser
        try parser.input.seek(to: offset)
        parser.line = parser.recordLine
        return true
    }

    /// The next record made into an item by `map`, or nil at the end of the file (or of the range).
    func next<Item>(_ map: (CSVRecordSource) throws -> Item) throws -> Item? {
        let parser = record.parser
        if let rangeEnd, parser.input.position >= rangeEnd { return nil }
        let found: Bool
        do {
            found = try parser.next()
        } catch let error as BatchError where error.code == .malformedRecord {
            if try isPastRange(parser.refused?.offset) { return nil }
            count += 1
            throw error
        }
        guard found else { return nil }
        if try isPastRange(parser.input.bufferOffset + Int64(parser.recordStart)) { return nil }
        count += 1
        if let columns = record.columns, parser.fieldCount != columns.count {
            // The record parsed, so its end is known: the whole of it is refused and reading resumes after it (a
            // line of a quoted field is never read as a record of its own).
            let problem = CSVFieldCountError(fields: parser.fieldCount, columns: columns.count)
            throw FileErrors.malformed(
                parser.path, line: parser.recordLine,
                "\(problem); reading resumes on line \(parser.line)", underlying: problem, record: parser.lastRecord())
        }
        record.beginRecord()
        do {
            return try map(record)
        } catch let error as BatchError {
            throw error
        } catch {
            throw describe(error)
        }
    }

    /// An error from decoding the current record, naming its file, line and field.
    private func describe(_ error: any Error) -> BatchError {
        let parser = record.parser
        guard let context = (error as? DecodingError)?.decodingContext else {
            return FileErrors.malformed(
                parser.path, line: parser.recordLine, "\(error)", underlying: error, record: parser.lastRecord())
        }
        var field: FieldName?
        if let key = context.codingPath.first {
            if let columns = record.columns {
                field = FieldName(name: key.stringValue, index: columns.firstIndex(of: key.stringValue))
            } else {
                field = FieldName(index: key.intValue)
            }
        }
        return FileErrors.malformed(
            parser.path, line: parser.recordLine, field: field, context.debugDescription, underlying: error,
            record: parser.lastRecord())
    }

    func update(_ context: inout ExecutionContext) {
        context[keys.offset] = .int(record.parser.input.position)
        context[keys.line] = .int(Int64(record.parser.line))
        context[keys.count] = .int(count)
    }
}

/// The step-context keys of a file reader.
struct ReaderKeys {
    let offset: String
    let line: String
    let count: String

    init(_ name: String) {
        offset = name + ".offset"
        line = name + ".line"
        count = name + ".count"
    }
}
