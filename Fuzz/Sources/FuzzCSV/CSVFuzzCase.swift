import Batch

@testable import BatchFiles

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One fuzz input: reads the file through the CSV reader's state (what ``CSVReader/read()`` runs), skipping every
/// malformed record as a skip policy would, and checks what must hold for any bytes at all:
///
/// - every read takes the reader forward: the saved offset and line strictly increase, and the file is consumed
///   to its end;
/// - a record returned spans at most ``FileReaderConfiguration/maxRecordLength`` bytes and
///   ``FileReaderConfiguration/maxRecordLines`` lines; a refused one carries its offset, line and (at most that
///   many of) its bytes, exactly as they are in the file, and reading resumes on the next line;
/// - a reader restarted from the position saved after any read goes on with the same records and refusals;
/// - every record returned, written again with the writer's encoder, reads back as the same fields.
///
/// A broken invariant aborts the process, which libFuzzer reports as a crash and saves the input of.
struct CSVFuzzCase {
    let settings: FuzzSettings

    init(_ settings: FuzzSettings) { self.settings = settings }

    func run() {
        writeFile(settings.file, to: FuzzFiles.input)
        guard let first = read(from: ExecutionContext(), saveAfter: settings.restartAfter) else { return }
        if let saved = first.saved {
            guard let rest = read(from: saved, saveAfter: 0) else { fail("the restarted reader did not open") }
            let expected = Array(first.outcomes[settings.restartAfter...])
            if rest.outcomes != expected {
                fail(
                    "restarted after read \(settings.restartAfter) at \(saved): read \(rest.outcomes), "
                        + "expected \(expected)")
            }
        }
        // The padding line, a quarter megabyte, is left out: it takes longer than the rest together.
        roundTrip(first.outcomes.compactMap { $0.offset >= settings.dataOffset ? $0.fields : nil })
    }

    /// What one read gave.
    enum Outcome: Equatable, CustomStringConvertible {
        case record(fields: [String], line: Int, offset: Int64)
        case refused(line: Int, offset: Int64, length: Int64)

        var fields: [String]? {
            if case .record(let fields, _, _) = self { fields } else { nil }
        }

        var offset: Int64 {
            switch self {
            case .record(_, _, let offset), .refused(_, let offset, _): offset
            }
        }

        /// Equal fields are equal scalar for scalar, not merely canonically equivalent.
        static func == (a: Outcome, b: Outcome) -> Bool {
            switch (a, b) {
            case (.record(let fieldsA, let lineA, let offsetA), .record(let fieldsB, let lineB, let offsetB)):
                lineA == lineB && offsetA == offsetB && sameFields(fieldsA, fieldsB)
            case (.refused(let lineA, let offsetA, let lengthA), .refused(let lineB, let offsetB, let lengthB)):
                lineA == lineB && offsetA == offsetB && lengthA == lengthB
            default: false
            }
        }

        var description: String {
            switch self {
            case .record(let fields, let line, let offset):
                "record(line \(line), offset \(offset), \(fields))"
            case .refused(let line, let offset, let length):
                "refused(line \(line), offset \(offset), \(length) bytes)"
            }
        }
    }

    struct Pass {
        var outcomes: [Outcome] = []
        /// The context saved after read `saveAfter`, if there were that many.
        var saved: ExecutionContext?
    }

    /// Reads the whole file from `context`'s position, checking each step; nil when the header is refused.
    func read(from context: ExecutionContext, saveAfter: Int) -> Pass? {
        let file = settings.file
        let configuration = settings.configuration
        let state: CSVReaderState
        do {
            state = try CSVReaderState(
                path: FuzzFiles.input, format: settings.format, configuration: configuration, context: context,
                name: "fuzz")
        } catch let error as BatchError where error.code == .malformedRecord {
            return nil
        } catch {
            fail("opening the reader: \(error)")
        }
        var pass = Pass()
        var (offset, line) = position(state)
        while true {
            if pass.outcomes.count > file.count { fail("more reads than bytes in the file: the reader is stuck") }
            let before = (offset: offset, line: line)
            var outcome: Outcome?
            do {
                guard let fields = try state.next({ try [String](from: CSVRecordDecoder(record: $0)) }) else {
                    (offset, line) = position(state)
                    // Only blank lines may follow the last record.
                    let rest = file[Int(before.offset)...]
                    if offset != Int64(file.count) || rest.contains(where: { $0 != 0x0A && $0 != 0x0D })
                        || line != before.line + Self.lineBreaks(in: rest)
                    {
                        fail("the end of the file reported at offset \(offset), line \(line) of \(file.count) bytes")
                    }
                    break
                }
                (offset, line) = position(state)
                outcome = checkRecord(fields, from: before, to: (offset, line))
            } catch let error as BatchError where error.code == .malformedRecord {
                (offset, line) = position(state)
                outcome = checkRefusal(error, from: before, to: (offset, line))
            } catch {
                fail("reading at offset \(before.offset): \(error)")
            }
            guard let outcome else { fail("no outcome") }
            pass.outcomes.append(outcome)
            if pass.outcomes.count == saveAfter {
                var saved = context
                state.update(&saved)
                pass.saved = saved
            }
        }
        return pass
    }

    /// The saved offset and line (the reader's position and the line of the next record).
    private func position(_ state: CSVReaderState) -> (Int64, Int) {
        var context = ExecutionContext()
        state.update(&context)
        guard let offset = context.int("fuzz.offset"), let line = context.int("fuzz.line") else {
            fail("the reader saved no position: \(context)")
        }
        return (Int64(offset), line)
    }

    private func checkRecord(
        _ fields: [String], from before: (offset: Int64, line: Int), to after: (offset: Int64, line: Int)
    ) -> Outcome {
        let configuration = settings.configuration
        let file = settings.file
        guard after.offset > before.offset, after.offset <= Int64(file.count) else {
            fail("a record moved the offset from \(before.offset) to \(after.offset)")
        }
        // The bytes read: blank lines (only CR and LF; a record never starts with either), then the record.
        let read = file[Int(before.offset)..<Int(after.offset)]
        let start = read.firstIndex { $0 != 0x0A && $0 != 0x0D } ?? read.endIndex
        let blankLines = Self.lineBreaks(in: read[..<start])
        let record = read[start...]
        let recordLine = before.line + blankLines
        let linesSpanned = after.line - recordLine
        guard !record.isEmpty else { fail("a record of no bytes at offset \(start)") }
        guard record.count <= configuration.maxRecordLength else {
            fail("a record of \(record.count) bytes at offset \(start), over \(configuration.maxRecordLength)")
        }
        guard linesSpanned >= 1 || after.offset == Int64(file.count), linesSpanned <= configuration.maxRecordLines,
            record.count(where: { $0 == 0x0A }) <= configuration.maxRecordLines
        else {
            fail(
                "a record at offset \(start) on line \(recordLine) runs to line \(after.line), over \(configuration.maxRecordLines)"
            )
        }
        if start < settings.dataOffset, Int(after.offset) > settings.dataOffset {
            fail("the padding line and the data make one record at offset \(start)")
        }
        guard !fields.isEmpty else { fail("a record of no fields at offset \(start)") }
        return .record(fields: fields, line: recordLine, offset: Int64(start))
    }

    private func checkRefusal(
        _ error: BatchError, from before: (offset: Int64, line: Int), to after: (offset: Int64, line: Int)
    ) -> Outcome {
        let file = settings.file
        guard let raw = RawRecordError.record(in: error) else { fail("a refusal without its bytes: \(error)") }
        guard after.offset > before.offset, raw.offset >= before.offset, raw.offset + raw.length == after.offset,
            after.offset <= Int64(file.count)
        else {
            fail(
                "a refusal moved the offset from \(before.offset) to \(after.offset), its record at \(raw.offset) "
                    + "of \(raw.length) bytes: \(error)")
        }
        // The bytes kept: all of them, or the first maxRecordLength of a longer line.
        let start = Int(raw.offset)
        let kept = Int(min(raw.length, Int64(settings.configuration.maxRecordLength)))
        let expected = Array(file[start..<(start + kept)])
        guard raw.bytes == expected, raw.truncated == (kept < raw.length) else {
            fail("a refusal at \(start) kept \(raw.bytes), the file has \(expected) there: \(error)")
        }
        // Blank lines before the refused record, then: after a record that parsed but does not decode, the
        // lines of that record (within the limit); after a structural error, its first line and nothing further.
        let blankLines = Self.lineBreaks(
            in: file[Int(before.offset)..<start].prefix { $0 == 0x0A || $0 == 0x0D })
        let parsed = (error.underlying as? RawRecordError)?.underlying != nil
        let atEnd = after.offset == Int64(file.count)
        let lines = after.line - raw.line
        guard raw.line == before.line + blankLines,
            parsed
                ? (1...settings.configuration.maxRecordLines).contains(lines) || (lines == 0 && atEnd)
                : lines == 1 || (lines == 0 && atEnd)
        else {
            fail(
                "a refusal on line \(raw.line) (reader on line \(before.line) before, \(after.line) after, "
                    + "\(blankLines) blank lines): \(error)")
        }
        return .refused(line: raw.line, offset: raw.offset, length: raw.length)
    }

    /// Line breaks in `bytes`: CRLF, CR or LF, each one.
    static func lineBreaks(in bytes: ArraySlice<UInt8>) -> Int {
        var count = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 0x0D {
                count += 1
                if index + 1 < bytes.endIndex, bytes[index + 1] == 0x0A { index += 1 }
            } else if bytes[index] == 0x0A {
                count += 1
            }
            index += 1
        }
        return count
    }
}

/// Whether two records have the same fields, scalar for scalar.
func sameFields(_ a: [String], _ b: [String]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.unicodeScalars.elementsEqual($1.unicodeScalars) }
}

/// Reports a broken invariant and aborts, so libFuzzer keeps the input.
func fail(_ message: String) -> Never {
    let line = Array("CSV fuzz invariant broken: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    abort()
}
