import Batch
import Foundation

/// Reads a JSON Lines file (one JSON value per line, UTF-8), decoding each line into `Item` with a `JSONDecoder`.
///
/// ```swift
/// struct Event: Decodable { var id: Int; var kind: String; var payload: [String: String] }
///
/// ChunkStep("load-events", chunkSize: 1_000,
///           reader: { context in   // inside BATCH_DATA_DIR, whatever the parameter says
///               JSONLinesReader<Event>(
///                   path: try await context.dataDirectory.resolve(try context.parameters.string("events")))
///           },
///           writer: { _ in eventWriter })
/// ```
///
/// - Mapping: JSON keys to the properties of `Item`, as `JSONDecoder` does (nested objects and arrays included).
///   Blank lines are skipped; CRLF line endings are accepted.
/// - Restart: as ``CSVReader``: the byte offset after the last line of each committed chunk (of the uncompressed
///   bytes, for `.gz`), the line number and the count are saved under `<name>.offset`, `<name>.line` and
///   `<name>.count`; a restart resumes at the next line.
/// - Ranges: with ``FileReaderConfiguration/range`` set (a partition from ``FileRangePartitioner``), the reader reads
///   only the lines that start inside the range and resumes within it on restart:
///   ```swift
///   reader: { context in
///       let partition = try FilePartition(context)
///       return JSONLinesReader<Event>(path: try await partition.path(context),
///                                     configuration: partition.configuration())
///   }
///   ```
/// - Errors: a line that is not valid JSON (or not UTF-8), does not decode, or is longer than
///   ``FileReaderConfiguration/maxRecordLength`` throws ``BatchError/Code/malformedRecord`` naming the file, the line
///   and the field (as a JSON path: `field 'customer.address[1]'`). The reader has moved past the line.
public struct JSONLinesReader<Item: Decodable>: ItemReader {
    private let path: String
    private let configuration: FileReaderConfiguration
    private let decoder: JSONDecoder
    private let name: String
    private var state: JSONLinesReaderState?
    private var sized: FileReadProgress?

    /// Creates a reader; the file is opened (and its checksum verified) when the step opens the reader.
    /// - Parameters:
    ///   - path: the file to read; gzip-compressed when it ends in `.gz`, unless the configuration says otherwise.
    ///   - configuration: compression, the line length limit, a checksum to verify.
    ///   - name: prefixes this reader's entries in the step context.
    ///   - decoder: decodes the lines; pass one with your date or key strategies. A decoder with `.iso8601` dates
    ///     is used with ``JSONDecoder/DateDecodingStrategy/strictISO8601`` in its place (a copy; yours is not
    ///     changed), so no date is read from a prefix or rolled over.
    public init(
        path: String, configuration: FileReaderConfiguration = FileReaderConfiguration(), name: String = "reader",
        decoder: JSONDecoder = JSONDecoder()
    ) {
        self.path = path
        self.configuration = configuration
        self.decoder = decoder.withStrictDates()
        self.name = name
    }

    /// Verifies the checksum if asked, opens the file and moves to the saved position.
    /// - Throws: ``BatchError/Code/checksumMismatch`` or ``BatchError/Code/fileFailure``.
    public mutating func open(_ context: ExecutionContext) async throws {
        let (input, gzip) = try configuration.openInput(path)
        let state = JSONLinesReaderState(
            scanner: LineScanner(input: input, maxLength: configuration.maxRecordLength), decoder: decoder,
            keys: ReaderKeys(name), range: configuration.range)
        try state.restore(context)
        self.state = state
        sized = FileReadProgress(path: path, gzip: gzip, range: configuration.range)
    }

    /// Bytes read of the file (or of its range); nil for gzip.
    public var progress: (done: Int64, total: Int64)? { state.flatMap { state in sized?.at(state.position) } }

    /// The next line as an `Item`, or nil at the end of the file.
    /// - Throws: ``BatchError/Code/malformedRecord`` naming the file, line and field.
    public mutating func read() async throws -> Item? {
        guard let state else {
            throw BatchError(.invalidState, "JSONLinesReader for '\(path)' read before it was opened")
        }
        return try state.next(Item.self)
    }

    /// Saves the offset after the last line read, its line number and the count of lines read.
    public func update(_ context: inout ExecutionContext) {
        state?.update(&context)
    }

    /// Closes the file.
    public mutating func close(_ status: BatchStatus) async throws {
        state = nil
    }
}

/// An open JSON Lines reader.
final class JSONLinesReaderState {
    private let scanner: LineScanner
    private let decoder: JSONDecoder
    private let keys: ReaderKeys
    private var count: Int64 = 0
    /// The byte range read, if not the whole file.
    private let range: FileByteRange?
    /// The read position in the file.
    var position: Int64 { scanner.input.position }

    init(scanner: LineScanner, decoder: JSONDecoder, keys: ReaderKeys, range: FileByteRange? = nil) {
        self.scanner = scanner
        self.decoder = decoder
        self.keys = keys
        self.range = range
    }

    func restore(_ context: ExecutionContext) throws {
        if let offset = context.int(keys.offset) {
            try scanner.input.seek(to: Int64(offset))
            scanner.line = context.int(keys.line) ?? 1
            count = Int64(context.int(keys.count) ?? 0)
        } else if let range, range.start > 0 {
            // A range past the start: it starts right after a line feed, on line `firstLine`; no byte order mark.
            try scanner.input.seek(to: range.start)
            scanner.line = range.firstLine
        } else {
            try scanner.input.skipByteOrderMark()
        }
    }

    /// Whether the next line starts inside the range (always, over the whole file).
    private var isInRange: Bool {
        guard let end = range?.end else { return true }
        return scanner.input.position < end
    }

    func next<Item: Decodable>(_ type: Item.Type) throws -> Item? {
        while isInRange, try advance() {
            let line = scanner.current
            if Self.isBlank(line) { continue }
            count += 1
            let data = Data(line)
            do {
                return try decoder.decode(Item.self, from: data)
            } catch {
                throw describe(error, data)
            }
        }
        return nil
    }

    /// Whether a line holds nothing but spaces and tabs: it is skipped, not a record.
    static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    /// The scanner's next line; a line refused for its length counts as a record read.
    private func advance() throws -> Bool {
        do {
            return try scanner.advance()
        } catch let error as BatchError where error.code == .malformedRecord {
            count += 1
            throw error
        }
    }

    private func describe(_ error: any Error, _ data: Data) -> BatchError {
        let path = scanner.input.path
        let line = scanner.lastLine
        let raw = scanner.lastRecord()
        guard let decoding = error as? DecodingError, let context = decoding.decodingContext else {
            return FileErrors.malformed(path, line: line, "\(error)", underlying: error, record: raw)
        }
        if case .dataCorrupted = decoding, context.codingPath.isEmpty {
            let problem =
                String(validating: data, as: UTF8.self) == nil
                ? "the line is not valid UTF-8"
                : "the line is not valid JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)"
            return FileErrors.malformed(path, line: line, problem, underlying: error, record: raw)
        }
        var codingPath = context.codingPath
        if case .keyNotFound(let key, _) = decoding { codingPath.append(key) }
        var name = ""
        for key in codingPath {
            if let index = key.intValue, key.stringValue == "Index \(index)" {
                name += "[\(index)]"
            } else {
                name += name.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return FileErrors.malformed(
            path, line: line, field: name.isEmpty ? nil : FieldName(name: name), context.debugDescription,
            underlying: error, record: raw)
    }

    func update(_ context: inout ExecutionContext) {
        context[keys.offset] = .int(scanner.input.position)
        context[keys.line] = .int(Int64(scanner.line))
        context[keys.count] = .int(count)
    }
}

extension JSONLinesReader: ProgressReportingReader {}
