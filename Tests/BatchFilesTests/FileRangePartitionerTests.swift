import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

@Suite("FileRangePartitioner and range readers")
struct FileRangePartitionerTests {
    static func notes(_ count: Int, note: (Int) -> String = { "note \($0)" }) -> [Note] {
        (1...max(count, 1)).prefix(count).map { Note(id: $0, note: note($0)) }
    }

    /// Splits `path` into `count` ranges and reads each with a fresh reader; returns the ranges and their records.
    static func readInRanges(
        _ path: String, _ format: FileRangePartitioner.Format, count: Int
    ) async throws -> (ranges: [FileByteRange?], records: [[Note]]) {
        let ranges = try FileRangePartitioner(file: "unused", format: format).ranges(of: path, count: count)
        var records: [[Note]] = []
        for range in ranges {
            switch format {
            case .delimited(let csv): records.append(try await readCSV(path, range, format: csv))
            case .jsonLines: records.append(try await readJSONLines(path, range))
            }
        }
        return (ranges, records)
    }

    @Test("an empty file, or a header alone, makes no partitions")
    func emptyFile() async throws {
        let directory = try TemporaryDirectory()
        for (name, text, format) in [
            ("empty.csv", "", FileRangePartitioner.Format.csv), ("header.csv", "id,note\n", .csv),
            ("blank.csv", "id,note\n\n\r\n", .csv), ("empty.jsonl", "", .jsonLines),
            ("blank.jsonl", "\n  \n", .jsonLines),
        ] {
            try writeFile(directory.file(name), text)
            let ranges = try FileRangePartitioner(file: name, format: format).ranges(of: directory.file(name), count: 4)
            #expect(ranges.isEmpty, "\(name)")
            let partitions = try await partitions(
                of: FileRangePartitioner(file: name, format: format), gridSize: 4, directory: directory.path)
            #expect(partitions.isEmpty, "\(name)")
        }
    }

    @Test("fewer records than partitions: one partition per record, each reading its record")
    func fewerRecords() async throws {
        let directory = try TemporaryDirectory()
        let notes = Self.notes(3)
        try writeFile(directory.file("three.csv"), csvText(notes))
        let (ranges, records) = try await Self.readInRanges(directory.file("three.csv"), .csv, count: 8)
        #expect(ranges.count == 3)
        #expect(records == notes.map { [$0] })
        let huge = try FileRangePartitioner(file: "three.csv", format: .csv).ranges(
            of: directory.file("three.csv"), count: .max)
        #expect(huge == ranges, "a grid size beyond the bytes costs nothing more")
        try writeFile(directory.file("three.jsonl"), try jsonLinesText(notes))
        let json = try await Self.readInRanges(directory.file("three.jsonl"), .jsonLines, count: 8)
        #expect(json.records == notes.map { [$0] })
    }

    @Test("a record straddling a cut goes whole to the range it starts in")
    func straddlingRecord() async throws {
        let directory = try TemporaryDirectory()
        // Record 2 is long and holds the middle of the file.
        let notes = [
            Note(id: 1, note: "a"), Note(id: 2, note: String(repeating: "x", count: 200)), Note(id: 3, note: "c"),
        ]
        let text = csvText(notes)
        try writeFile(directory.file("s.csv"), text)
        let (ranges, records) = try await Self.readInRanges(directory.file("s.csv"), .csv, count: 2)
        let middle = Int64("id,note\n".utf8.count) + Int64(text.utf8.count - "id,note\n".utf8.count) / 2
        let recordTwoEnd = Int64(text.utf8.count - "3,c\n".utf8.count)
        #expect(middle < recordTwoEnd)
        #expect(ranges.map { $0?.end } == [recordTwoEnd, Int64(text.utf8.count)], "cut after the straddling record")
        #expect(records == [Array(notes[0...1]), [notes[2]]])
    }

    @Test("a quoted field with line breaks across the cut is never cut; errors name the line in the whole file")
    func quotedNewlineAtCut() async throws {
        let directory = try TemporaryDirectory()
        let lines = (1...50).map { "inner line \($0), with \"quotes\"" }.joined(separator: "\n")
        let notes = [Note(id: 1, note: "first"), Note(id: 2, note: lines), Note(id: 3, note: "after")]
        let text = csvText(notes) + "4,bad\"quote\n5,fine\n"
        try writeFile(directory.file("q.csv"), text)
        let path = directory.file("q.csv")
        let ranges = try FileRangePartitioner(file: "q.csv", format: .csv).ranges(of: path, count: 4)
        let innerBreaks = Set(
            text.utf8.enumerated().filter { $0.element == 0x0A }.map { Int64($0.offset + 1) }
                .filter { $0 > 20 && $0 < Int64(csvText(Array(notes[0...1])).utf8.count) })
        for range in ranges { #expect(!innerBreaks.contains(range!.start), "a cut inside the quoted field") }
        var all: [Note] = []
        var errors: [String] = []
        for range in ranges {
            var reader = CSVReader<Note>(path: path, configuration: FileReaderConfiguration(range: range))
            try await reader.open(ExecutionContext())
            while true {
                do {
                    guard let note = try await reader.read() else { break }
                    all.append(note)
                } catch let error as BatchError {
                    errors.append(error.message)
                }
            }
        }
        #expect(all.map(\.id) == [1, 2, 3, 5])
        #expect(all[1].note == lines)
        #expect(errors.count == 1)
        #expect(errors.first?.contains("line 54") == true, "the malformed record is on line 54: \(errors)")
    }

    @Test("CRLF line endings and a file without a final line break", arguments: ["\n", "\r\n"], [true, false])
    func lineEndings(lineEnd: String, finalLineBreak: Bool) async throws {
        let directory = try TemporaryDirectory()
        let notes = Self.notes(40) { $0 % 7 == 0 ? "multi\(lineEnd)line" : "n\($0)" }
        try writeFile(directory.file("l.csv"), csvText(notes, lineEnd: lineEnd, finalLineBreak: finalLineBreak))
        try writeFile(
            directory.file("l.jsonl"), try jsonLinesText(notes, lineEnd: lineEnd, finalLineBreak: finalLineBreak))
        for count in [1, 3, 7] {
            let csv = try await Self.readInRanges(directory.file("l.csv"), .csv, count: count)
            #expect(csv.records.flatMap { $0 } == notes)
            #expect(csv.ranges.count == count)
            let json = try await Self.readInRanges(directory.file("l.jsonl"), .jsonLines, count: count)
            #expect(json.records.flatMap { $0 } == notes)
        }
    }

    @Test("property: the ranges' records, read one range at a time, are the straight read's, once each and in order")
    func unionIsStraightRead() async throws {
        let directory = try TemporaryDirectory()
        var random = SeededRandomNumberGenerator(seed: 20_261_201)
        let pieces = ["a", ",", "\"", "\n", "\r\n", "\t", " ", "é", "東", "x\"y", "\"\""]
        for trial in 0..<60 {
            let count = Int.random(in: 0...40, using: &random)
            let notes = (0..<count).map { index in
                Note(
                    id: index + 1,
                    note: (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces.randomElement(using: &random)!
                    }
                    .joined())
            }
            let lineEnd = Bool.random(using: &random) ? "\n" : "\r\n"
            let final = Bool.random(using: &random)
            let grid = Int.random(in: 1...12, using: &random)
            let tsv = trial % 3 == 1
            let delimited = csvText(notes, delimiter: tsv ? "\t" : ",", lineEnd: lineEnd, finalLineBreak: final)
            let name = "p\(trial).\(tsv ? "tsv" : "csv")"
            try writeFile(directory.file(name), delimited)
            let format: CSVFormat = tsv ? .tsv : .csv
            let straight = try await readCSV(directory.file(name), nil, format: format)
            #expect(straight == notes)
            let split = try await Self.readInRanges(directory.file(name), .delimited(format), count: grid)
            #expect(split.records.flatMap { $0 } == straight, "trial \(trial): \(count) records in \(grid)")
            // About equal bytes: two marks inside one long record make one cut, so there may be fewer ranges.
            #expect(split.ranges.count <= min(grid, count) && (split.ranges.isEmpty == notes.isEmpty))
            #expect(split.records.allSatisfy { !$0.isEmpty })

            let jsonName = "p\(trial).jsonl"
            try writeFile(directory.file(jsonName), try jsonLinesText(notes, lineEnd: lineEnd, finalLineBreak: final))
            let jsonSplit = try await Self.readInRanges(directory.file(jsonName), .jsonLines, count: grid)
            #expect(jsonSplit.records.flatMap { $0 } == notes, "trial \(trial) (JSON Lines)")
            #expect(jsonSplit.ranges.count <= min(grid, count) && (jsonSplit.ranges.isEmpty == notes.isEmpty))
            #expect(jsonSplit.records.allSatisfy { !$0.isEmpty })
        }
    }

    @Test("a UTF-8 byte order mark is in no range; linear TSV (backslash escapes) splits at its records")
    func byteOrderMarkAndLinearTSV() async throws {
        let directory = try TemporaryDirectory()
        let notes = Self.notes(30)
        try writeFile(directory.file("b.csv"), "\u{FEFF}" + csvText(notes))
        try writeFile(directory.file("b.jsonl"), "\u{FEFF}" + (try jsonLinesText(notes)))
        for (name, format) in [("b.csv", FileRangePartitioner.Format.csv), ("b.jsonl", .jsonLines)] {
            let split = try await Self.readInRanges(directory.file(name), format, count: 4)
            #expect(split.records.flatMap { $0 } == notes, "\(name)")
            #expect(split.ranges.count == 4)
        }
        let escaped = (1...30).map { Note(id: $0, note: $0 % 4 == 0 ? "line\nbreak\tand tab" : "n\($0)") }
        let linear =
            "id\tnote\n"
            + escaped.map {
                "\($0.id)\t"
                    + $0.note.replacingOccurrences(of: "\n", with: "\\\n").replacingOccurrences(of: "\t", with: "\\t")
            }.joined(separator: "\n") + "\n"
        try writeFile(directory.file("l.tsv"), linear)
        let split = try await Self.readInRanges(directory.file("l.tsv"), .delimited(.linearTSV), count: 5)
        #expect(split.records.flatMap { $0 } == escaped)
        #expect(split.ranges.count == 5)
    }

    @Test(
        "a range cut by hand at a record's first byte, after blank lines: the record, good or malformed, is the next range's"
    )
    func rangeAfterBlankLines() async throws {
        let directory = try TemporaryDirectory()
        let text = "id,note\n1,a\n\n\r\n2,b\n\n4,bad\"quote\n5,e\n"
        let path = directory.file("h.csv")
        try writeFile(path, text)
        func offset(of part: String) -> Int64 {
            Int64(text.utf8.count - text.components(separatedBy: part)[1].utf8.count - part.utf8.count)
        }
        let two = offset(of: "2,b")
        let bad = offset(of: "4,bad")
        let size = Int64(text.utf8.count)
        #expect(try await readCSV(path, FileByteRange(start: 8, end: two)).map(\.id) == [1])
        #expect(try await readCSV(path, FileByteRange(start: two, end: bad, firstLine: 5)).map(\.id) == [2])
        let error = await batchError { _ = try await readCSV(path, FileByteRange(start: bad, end: size, firstLine: 7)) }
        #expect(error?.code == .malformedRecord)
        #expect(error?.message.contains("line 7") == true)
        let after = FileByteRange(start: offset(of: "5,e"), end: size, firstLine: 8)
        #expect(try await readCSV(path, after).map(\.id) == [5])
        // The JSON Lines reader takes the lines that start in the range, blank ones included.
        let lines = "{\"id\":1,\"note\":\"a\"}\n\n{\"id\":2,\"note\":\"b\"}\n"
        try writeFile(directory.file("h.jsonl"), lines)
        let cut = Int64(lines.utf8.count - "{\"id\":2,\"note\":\"b\"}\n".utf8.count)
        #expect(try await readJSONLines(directory.file("h.jsonl"), FileByteRange(start: 0, end: cut)).map(\.id) == [1])
        #expect(
            try await readJSONLines(directory.file("h.jsonl"), FileByteRange(start: cut, end: nil, firstLine: 3))
                .map(\.id) == [2])
    }

    @Test("a range reader saves its position and resumes within the range, stopping at its end")
    func resumeWithinRange() async throws {
        let directory = try TemporaryDirectory()
        let notes = Self.notes(30)
        let path = directory.file("r.csv")
        try writeFile(path, csvText(notes))
        let ranges = try FileRangePartitioner(file: "r.csv", format: .csv).ranges(of: path, count: 3)
        let middle = try #require(ranges[1])
        let expected = try await readCSV(path, middle)
        #expect(expected.count >= 4)
        var first = CSVReader<Note>(path: path, configuration: FileReaderConfiguration(range: middle))
        try await first.open(ExecutionContext())
        var read = [try await first.read()!, try await first.read()!]
        var context = ExecutionContext()
        first.update(&context)
        _ = try await first.read()  // read but not committed
        var second = CSVReader<Note>(path: path, configuration: FileReaderConfiguration(range: middle))
        try await second.open(context)
        while let note = try await second.read() { read.append(note) }
        #expect(read == expected)
        #expect(try await second.read() == nil)

        let jsonPath = directory.file("r.jsonl")
        try writeFile(jsonPath, try jsonLinesText(notes))
        let jsonRange = try #require(
            try FileRangePartitioner(file: "r.jsonl", format: .jsonLines).ranges(of: jsonPath, count: 3)[1])
        let jsonExpected = try await readJSONLines(jsonPath, jsonRange)
        var jsonFirst = JSONLinesReader<Note>(path: jsonPath, configuration: FileReaderConfiguration(range: jsonRange))
        try await jsonFirst.open(ExecutionContext())
        var jsonRead = [try await jsonFirst.read()!, try await jsonFirst.read()!, try await jsonFirst.read()!]
        var jsonContext = ExecutionContext()
        jsonFirst.update(&jsonContext)
        _ = try await jsonFirst.read()
        var jsonSecond = JSONLinesReader<Note>(path: jsonPath, configuration: FileReaderConfiguration(range: jsonRange))
        try await jsonSecond.open(jsonContext)
        while let note = try await jsonSecond.read() { jsonRead.append(note) }
        #expect(jsonRead == jsonExpected)
        #expect(jsonExpected.count >= 4 && jsonExpected.first!.id > 1 && jsonExpected.last!.id < 30, "the middle range")
    }

    @Test("a gzip file is one partition reading the whole file")
    func gzipIsOnePartition() async throws {
        let directory = try TemporaryDirectory()
        let notes = Self.notes(20)
        _ = try await writeWithJob(notes) { CSVWriter<Note>(path: directory.file("g.csv.gz")) }
        let ranges = try FileRangePartitioner(file: "g.csv.gz", format: .csv).ranges(
            of: directory.file("g.csv.gz"), count: 4)
        #expect(ranges == [nil])
        let contexts = try await partitions(
            of: FileRangePartitioner(file: "g.csv.gz", format: .csv), gridSize: 4, directory: directory.path)
        #expect(contexts.count == 1)
        let partition = try FilePartition(context: try #require(contexts["part-0"]))
        #expect(partition == FilePartition(name: "g.csv.gz"))
        #expect(try await readCSV(directory.file("g.csv.gz"), partition.range) == notes)
    }

    @Test("a file outside the data directory is refused; a file that changed since it was split is refused")
    func refusals() async throws {
        let directory = try TemporaryDirectory()
        let outside = try TemporaryDirectory()
        try writeFile(outside.file("x.csv"), csvText(Self.notes(3)))
        try FileManager.default.createSymbolicLink(
            atPath: directory.file("link.csv"), withDestinationPath: outside.file("x.csv"))
        for name in [
            outside.file("x.csv"), "../\(URL(fileURLWithPath: outside.path).lastPathComponent)/x.csv", "link.csv",
        ] {
            await #expect(throws: BatchError.self, "\(name)") {
                _ = try await partitions(
                    of: FileRangePartitioner(file: name, format: .csv), gridSize: 2, directory: directory.path)
            }
        }
        let path = directory.file("c.csv")
        try writeFile(path, csvText(Self.notes(10)))
        let ranges = try FileRangePartitioner(file: "c.csv", format: .csv).ranges(of: path, count: 2)
        try writeFile(path, csvText(Self.notes(11)))
        let error = await batchError { _ = try await readCSV(path, ranges[1]) }
        #expect(error?.code == .fileFailure)
        #expect(error?.message.contains("changed since") == true)
    }

    @Test("partitions carry the file's name and range, in order, named part-0…")
    func partitionContexts() async throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("in"), withIntermediateDirectories: true)
        try writeFile(directory.file("in/n.csv"), csvText(Self.notes(100)))
        let contexts = try await partitions(
            of: FileRangePartitioner(format: .csv, prefix: "chunk") { context in
                try context.parameters.string("file")
            }, gridSize: 4, directory: directory.path, params: #"{"file":"in/n.csv"}"#)
        #expect(contexts.keys.sorted() == ["chunk-0", "chunk-1", "chunk-2", "chunk-3"])
        let ranges = try contexts.keys.sorted().map { try FilePartition(context: contexts[$0]!) }
        #expect(ranges.allSatisfy { $0.name == "in/n.csv" })
        for (left, right) in zip(ranges, ranges.dropFirst()) { #expect(left.range?.end == right.range?.start) }
        #expect(ranges.first?.range?.start == Int64("id,note\n".utf8.count), "the header is in no range")
        #expect(ranges.first?.range?.firstLine == 2)
    }

    @Test("plugged into a PartitionStep: every record once; a partition failing mid-range resumes within it")
    func endToEnd() async throws {
        let directory = try TemporaryDirectory()
        let notes = Self.notes(500) { $0 % 11 == 0 ? "with\nbreak, \"quoted\"" : "n\($0)" }
        try writeFile(directory.file("orders.csv"), csvText(notes))
        let written = Recorder<Int>()
        let failOnce = FailOnce()
        let job = Job("load-file") {
            PartitionStep(
                "load", partitions: 4,
                partitioner: FileRangePartitioner(file: "orders.csv", format: .csv),
                step: ChunkStep(
                    "load-part", chunkSize: 10,
                    reader: { context in
                        let partition = try FilePartition(context)
                        return CSVReader<Note>(
                            path: try await partition.path(context), configuration: partition.configuration())
                    },
                    processor: { (note: Note) -> Int? in
                        if note.id == 333, failOnce.shouldFail("333") { throw Boom() }
                        return note.id
                    },
                    writer: { _ in ClosureItemWriter<Int> { written.append(contentsOf: $0) } }))
        }
        .resource(try DataDirectory(path: directory.path))
        let jobOperator = try makeOperator(job)
        let failed = try await jobOperator.start("load-file")
        #expect(failed.status == .failed)
        let beforeRestart = written.all.count
        #expect(beforeRestart > 330 && beforeRestart < 500)
        let restarted = try await jobOperator.restart("load-file")
        #expect(restarted.status == .completed)
        #expect(written.all.sorted() == Array(1...500), "every record exactly once")
        let rerun = try await jobOperator.execution(restarted.id).steps.map(\.stepName).sorted()
        #expect(rerun.count == 2, "only the failed partition ran again: \(rerun)")
        #expect(written.all.count - beforeRestart < 125, "the failed partition resumed after its last chunk")
    }

    @Test("JSON Lines plugged into a PartitionStep")
    func jsonLinesEndToEnd() async throws {
        let directory = try TemporaryDirectory()
        let notes = Self.notes(200)
        try writeFile(directory.file("events.jsonl"), try jsonLinesText(notes))
        let read = Recorder<Int>()
        let job = Job("load-json") {
            PartitionStep(
                "load", partitions: 3, partitioner: FileRangePartitioner(file: "events.jsonl", format: .jsonLines),
                step: ChunkStep(
                    "load-part", chunkSize: 16,
                    reader: { context in
                        let partition = try FilePartition(context)
                        return JSONLinesReader<Note>(
                            path: try await partition.path(context), configuration: partition.configuration())
                    },
                    processor: { (note: Note) -> Int? in note.id },
                    writer: { _ in ClosureItemWriter<Int> { read.append(contentsOf: $0) } }))
        }
        .resource(try DataDirectory(path: directory.path))
        let execution = try await makeOperator(job).start("load-json")
        #expect(execution.status == .completed)
        #expect(read.all.sorted() == Array(1...200))
        #expect(read.all.count == 200)
    }
}
