import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

@Suite("File formats: errors")
struct FileErrorTests {
    struct Row: Decodable, Equatable, Sendable {
        var id: Int
        var name: String
        var qty: Int?
    }

    @Test("a malformed quoted field names the file, the line and the field")
    func malformedQuote() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("orders.csv")
        try writeFile(path, "id,name,qty\n1,a,1\n2,\"multi\nline\",2\n3,\"bad\"x,3\n4,d,4\n")
        let error = await batchError { _ = try await readAll(CSVReader<Row>(path: path)) }
        #expect(error?.code == .malformedRecord)
        #expect(
            error?.message.hasPrefix("\(path), line 5, field 'name' (column 2): a character after the closing quote")
                == true, "\(error?.message ?? "")")
    }

    @Test("a field that does not decode names the file, the line and the field")
    func typeMismatch() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("orders.csv")
        try writeFile(path, "id,name,qty\n1,a,1\n2,b,many\n")
        let error = await batchError { _ = try await readAll(CSVReader<Row>(path: path)) }
        #expect(error?.code == .malformedRecord)
        #expect(
            error?.message == "\(path), line 3, field 'qty' (column 3): expected an integer (Int), found 'many'",
            "\(error?.message ?? "")")
    }

    @Test("a missing column, a wrong field count and an unclosed quote are refused clearly")
    func structure() async throws {
        let directory = try TemporaryDirectory()
        let noColumn = directory.file("a.csv")
        try writeFile(noColumn, "id,qty\n1,2\n")
        let missing = await batchError { _ = try await readAll(CSVReader<Row>(path: noColumn)) }
        #expect(
            missing?.message.contains("line 2, field 'name': no column 'name' in the header (columns: id, qty)")
                == true, "\(missing?.message ?? "")")

        let count = directory.file("b.csv")
        try writeFile(count, "id,name,qty\n1,a\n")
        let short = await batchError { _ = try await readAll(CSVReader<Row>(path: count)) }
        #expect(
            short?.message
                == "\(count), line 2: the record has 2 fields, the header 3 (a field with a delimiter or a line break in it must be quoted); reading resumes on line 3"
        )

        let open = directory.file("c.csv")
        try writeFile(open, "id,name,qty\n1,\"never closed\n2,b,3\n")
        let unclosed = await batchError { _ = try await readAll(CSVReader<Row>(path: open)) }
        #expect(
            unclosed?.message.contains(
                "field 'name' (column 2): a quoted field is not closed before the end of the file") == true,
            "\(unclosed?.message ?? "")")
    }

    @Test("invalid UTF-8 is refused, naming the line and field")
    func invalidUTF8() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("bad.csv")
        var bytes = Data("id,name,qty\n1,ok,1\n2,".utf8)
        bytes.append(contentsOf: [0x66, 0xC3, 0x28, 0x6F])  // an invalid two-byte sequence
        bytes.append(contentsOf: Data(",2\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        let error = await batchError { _ = try await readAll(CSVReader<Row>(path: path)) }
        #expect(error?.message == "\(path), line 3, field 'name' (column 2): the field is not valid UTF-8")
        let latin1 = try await readAll(CSVReader<Row>(path: path, format: CSVFormat(encoding: .isoLatin1)))
        #expect(latin1.last?.name == "fÃ(o")
    }

    @Test("a 10 MB line is refused with a clear error after reading at most the limit, and a skip moves past it")
    func tenMegabyteLine() async throws {
        let directory = try TemporaryDirectory()
        for name in ["huge.csv", "huge.csv.gz", "huge.jsonl"] {
            let path = directory.file(name)
            let huge = String(repeating: "x", count: 10_000_000)
            let text =
                name.hasSuffix(".jsonl")
                ? "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"\(huge)\"}\n{\"id\":3,\"name\":\"c\"}\n"
                : "id,name,qty\n1,a,1\n2,\(huge),2\n3,c,3\n"
            if name.hasSuffix(".gz") {
                try writeFile(directory.file("plain"), text)
                let compressed = try await runProgram("/usr/bin/gzip", ["-c", directory.file("plain")])
                try compressed.write(to: URL(fileURLWithPath: path))
            } else {
                try writeFile(path, text)
            }
            let jsonLines = name.hasSuffix(".jsonl")
            let reader: @Sendable () -> AnyRowReader = {
                jsonLines ? AnyRowReader(JSONLinesReader<Row>(path: path)) : AnyRowReader(CSVReader<Row>(path: path))
            }
            let error = await batchError { _ = try await readAll(reader()) }
            #expect(error?.code == .malformedRecord, "\(name)")
            let line = name.hasSuffix(".jsonl") ? 2 : 3
            #expect(
                error?.message.hasPrefix("\(path), line \(line): the ") == true
                    && error?.message.contains("longer than 1048576 bytes") == true, "\(name): \(error?.message ?? "")")

            // With a skip policy the step leaves the huge record out and goes on with the next one.
            let rows = Recorder<Int>()
            let job = Job("skip") {
                ChunkStep(
                    "read", chunkSize: 10, reader: { _ in reader() },
                    writer: { _ in ClosureItemWriter<Row> { rows.append(contentsOf: $0.map(\.id)) } }
                )
                .skip(SkipPolicy(limit: 1) { ($0 as? BatchError)?.code == .malformedRecord })
            }
            let jobOperator = try makeOperator(job)
            let execution = try await jobOperator.start("skip")
            #expect(execution.status == .completed, "\(name): \(execution.exitMessage)")
            #expect(rows.all == [1, 3], "\(name)")
            let step = try #require(try await jobOperator.execution(execution.id).steps.first)
            #expect(step.counters.readSkip == 1 && step.counters.read == 2, "\(name): \(step.counters)")
        }
    }

    @Test(
        "a record of exactly maxRecordLength bytes with its line break is read, one byte more is refused (a last line without one too)",
        arguments: ["jsonl", "csv"])
    func recordLengthBoundary(format: String) async throws {
        let directory = try TemporaryDirectory()
        // A line of `length` bytes, its line feed included when it has one.
        func line(_ id: Int, _ length: Int, lineFeed: Bool) -> String {
            let frame = format == "jsonl" ? "{\"id\":\(id),\"name\":\"\"}" : "\(id),"
            let body = frame.count + (lineFeed ? 1 : 0)
            let padding = String(repeating: "x", count: length - body)
            let text = format == "jsonl" ? "{\"id\":\(id),\"name\":\"\(padding)\"}" : "\(id),\(padding)"
            return text + (lineFeed ? "\n" : "")
        }
        let limit = 64
        let header = format == "csv" ? "id,name\n" : ""
        let cases: [(text: String, ids: [Int], refused: Int)] = [
            (header + line(1, limit, lineFeed: true) + line(2, limit, lineFeed: false), [1, 2], 0),
            (header + line(1, limit + 1, lineFeed: true) + line(2, limit + 1, lineFeed: false), [], 2),
            (header + line(1, limit - 1, lineFeed: false), [1], 0),
        ]
        for (number, testCase) in cases.enumerated() {
            let path = directory.file("case\(number).\(format)")
            try writeFile(path, testCase.text)
            let configuration = FileReaderConfiguration(maxRecordLength: limit)
            var reader =
                format == "jsonl"
                ? AnyRowReader(JSONLinesReader<Row>(path: path, configuration: configuration))
                : AnyRowReader(CSVReader<Row>(path: path, configuration: configuration))
            try await reader.open(ExecutionContext())
            var ids: [Int] = []
            var refused = 0
            while true {
                do {
                    guard let row = try await reader.read() else { break }
                    ids.append(row.id)
                } catch let error as BatchError where error.code == .malformedRecord {
                    #expect(error.message.contains("longer than \(limit) bytes"), "\(error.message)")
                    refused += 1
                }
            }
            try await reader.close(.completed)
            #expect(ids == testCase.ids, "case \(number): \(testCase.text)")
            #expect(refused == testCase.refused, "case \(number): \(testCase.text)")
        }
    }

    @Test("JSON Lines: invalid JSON and a wrong type name the line and the field path")
    func jsonLinesErrors() async throws {
        struct Order: Decodable {
            struct Line: Decodable { var sku: String; var qty: Int }
            var id: Int
            var lines: [Line]
        }
        let directory = try TemporaryDirectory()
        let path = directory.file("orders.jsonl")
        try writeFile(
            path,
            "{\"id\":1,\"lines\":[]}\n\n{\"id\":2,\"lines\":[{\"sku\":\"a\",\"qty\":1},{\"sku\":\"b\",\"qty\":\"x\"}]}\n"
        )
        let error = await batchError { _ = try await readAll(JSONLinesReader<Order>(path: path)) }
        #expect(error?.code == .malformedRecord)
        #expect(error?.message.hasPrefix("\(path), line 3, field 'lines[1].qty': ") == true, "\(error?.message ?? "")")

        try writeFile(path, "{\"id\":1,\"lines\":[]}\n{\"id\":2,\n")
        let syntax = await batchError { _ = try await readAll(JSONLinesReader<Order>(path: path)) }
        #expect(
            syntax?.message.hasPrefix("\(path), line 2: the line is not valid JSON") == true, "\(syntax?.message ?? "")"
        )
    }
}

/// Type-erases a reader of rows, so one test can run the CSV and the JSON Lines reader alike.
struct AnyRowReader: ItemReader {
    var base: any ItemReader<FileErrorTests.Row>
    init(_ base: any ItemReader<FileErrorTests.Row>) { self.base = base }
    mutating func open(_ context: ExecutionContext) async throws { try await base.open(context) }
    mutating func read() async throws -> FileErrorTests.Row? { try await base.read() }
    func update(_ context: inout ExecutionContext) { base.update(&context) }
    mutating func close(_ status: BatchStatus) async throws { try await base.close(status) }
}
