import Batch

@testable import BatchFiles

extension CSVFuzzCase {
    /// Writes `records` with the writer's encoder (one encoder a record, as their widths differ) in the same
    /// dialect, without a header, and reads them back: they must come back field for field, scalar for scalar.
    func roundTrip(_ records: [[String]]) {
        guard !records.isEmpty else { return }
        var format = settings.format
        format.hasHeader = false
        format.columns = nil
        var bytes: [UInt8] = []
        for fields in records {
            do {
                let encoding = try CSVRecordEncoding(path: FuzzFiles.output, format: format, columns: nil)
                try encoding.append(fields, to: &bytes)
            } catch {
                fail("writing back \(fields): \(error)")
            }
        }
        // A file whose first field starts with U+FEFF would read back without it (the reader takes those bytes for
        // a byte order mark): with quotes, the writer quotes such a field; with backslash escapes it has no way to,
        // so the round trip puts a byte order mark first itself, as such a writer must, to go on fuzzing the rest.
        if format.encoding == .utf8, format.escaping != .quotes, bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            bytes.insert(contentsOf: [0xEF, 0xBB, 0xBF], at: 0)
        }
        writeFile(bytes, to: FuzzFiles.output)
        var read: [[String]] = []
        do {
            let state = try CSVReaderState(
                path: FuzzFiles.output, format: format,
                configuration: FileReaderConfiguration(
                    compression: FileCompression.none, maxRecordLength: Int.max, maxRecordLines: Int.max),
                context: ExecutionContext(), name: "roundtrip")
            while let fields = try state.next({ try [String](from: CSVRecordDecoder(record: $0)) }) {
                read.append(fields)
            }
        } catch {
            fail("reading back \(bytes): \(error)")
        }
        guard read.count == records.count, zip(read, records).allSatisfy(sameFields) else {
            fail("wrote \(records) as \(bytes), read back \(read)")
        }
    }
}
