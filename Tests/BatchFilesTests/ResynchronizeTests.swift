import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

/// An order line of the resynchronisation tests.
struct Order: Codable, Equatable, Sendable {
    var id: Int
    var item: String
    var amount: Decimal
}

/// A CSV file of `count` orders (ids 1...count, order `n` on line `n + 1`), with `lines` replacing some of them.
func ordersFile(_ count: Int, replacing lines: [Int: String] = [:]) -> String {
    var text = "id,item,amount\n"
    for id in 1...count { text += (lines[id + 1] ?? "\(id),\"item \(id), boxed\",\(id).50") + "\n" }
    return text
}

/// Reads `path` with a chunk step skipping malformed records, recording the skips; returns what it read, the step
/// execution and the skipped items.
func readSkipping<Reader: ItemReader>(
    limit: Int = 10, _ makeReader: @escaping @Sendable () -> Reader
) async throws -> (items: [Reader.Item], step: StepExecution, job: JobExecution, skipped: [SkippedItem])
where Reader.Item: Sendable {
    let items = Recorder<Reader.Item>()
    let skipped = InMemorySkippedItems()
    let job = Job("read") {
        ChunkStep(
            "read", chunkSize: 100, reader: { _ in makeReader() },
            writer: { _ in ClosureItemWriter<Reader.Item> { items.append(contentsOf: $0) } }
        )
        .skip(SkipPolicy(limit: limit) { ($0 as? BatchError)?.code == .malformedRecord })
        .recordSkippedItems(skipped)
    }
    let jobOperator = try makeOperator(job)
    let execution = try await jobOperator.start("read")
    let step = try #require(try await jobOperator.execution(execution.id).steps.first)
    return (items.all, step, execution, skipped.items)
}

@Suite("File formats: a bad record costs its own line, not the records after it")
struct ResynchronizeTests {
    @Test("a stray quote on line 1002 is one skip naming line 1002; the 3,999 orders after it are read")
    func strayQuote() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("orders.csv")
        let bad = "1001,\"widget,12.50"
        try writeFile(path, ordersFile(5_000, replacing: [1002: bad]))

        let (orders, step, job, skipped) = try await readSkipping { CSVReader<Order>(path: path) }
        #expect(job.status == .completed, "\(job.exitMessage)")
        #expect(orders.map(\.id) == Array(1...1000) + Array(1002...5000))
        #expect(orders.last == Order(id: 5_000, item: "item 5000, boxed", amount: Decimal(string: "5000.50")!))
        #expect(step.counters.read == 4_999 && step.counters.readSkip == 1, "\(step.counters)")
        #expect(step.context.int("reader.count") == 5_000, "reader.count: read plus read skips")
        let skip = try #require(skipped.first)
        #expect(skipped.count == 1 && skip.phase == .read)
        #expect(skip.reason.hasPrefix("\(path), line 1002, field 'item' (column 2): "), "\(skip.reason)")
        #expect(skip.reason.contains("reading resumes on line 1003"), "\(skip.reason)")
        let raw = try #require(skip.rawRecord)
        #expect(raw.line == 1002 && raw.text == bad + "\n" && raw.file == path && !raw.truncated)
        let bytes = try readFile(path)
        #expect(bytes[Int(raw.offset)..<Int(raw.offset + raw.length)] == Data((bad + "\n").utf8), "exact bytes")

        // Without a skip policy the step fails, naming the line.
        let failing = Job("strict") {
            ChunkStep(
                "read", chunkSize: 100, reader: { _ in CSVReader<Order>(path: path) },
                writer: { _ in ClosureItemWriter<Order> { _ in } })
        }
        let failed = try await makeOperator(failing).start("strict")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage.contains("line 1002"), "\(failed.exitMessage)")
    }

    @Test("the line bound is configurable; past it, each line is tried again and every byte is accounted for")
    func lineBound() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("notes.csv")
        try writeFile(path, "id,item,amount\n1,\"a\nb\nc\",1\n2,x,2\n")
        let (wide, _, _, none) = try await readSkipping {
            CSVReader<Order>(path: path, configuration: FileReaderConfiguration(maxRecordLines: 3))
        }
        #expect(wide.map(\.item) == ["a\nb\nc", "x"] && none.isEmpty)

        let (narrow, step, _, skipped) = try await readSkipping {
            CSVReader<Order>(path: path, configuration: FileReaderConfiguration(maxRecordLines: 2))
        }
        #expect(narrow.map(\.id) == [2])
        #expect(skipped.compactMap(\.rawRecord).map(\.line) == [2, 3, 4])
        #expect(skipped.compactMap(\.rawRecord?.text) == ["1,\"a\n", "b\n", "c\",1\n"])
        #expect(skipped.first?.reason.contains("more than 2 lines") == true, "\(skipped.first?.reason ?? "")")
        #expect(step.context.int("reader.count") == 4 && step.counters.readSkip == 3)

        let zero = await batchError {
            _ = try await readAll(
                CSVReader<Order>(path: path, configuration: FileReaderConfiguration(maxRecordLines: 0)))
        }
        #expect(zero?.code == .invalidDefinition)
    }

    @Test("a wrong field count refuses the whole record, an unclosed quote its line: exact offsets on restart")
    func offsetsAfterSkips() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("orders.csv")
        let text = "id,item,amount\n1,a,1\n2,\"two\nlines\"\n3,c,3\n4,\"unclosed,4\n5,\"e\",5\n6,\"never closed\n"
        try writeFile(path, text)
        var reader = CSVReader<Order>(path: path)
        try await reader.open(ExecutionContext())
        #expect(try await reader.read()?.id == 1)
        let count = await batchError { _ = try await reader.read() }
        #expect(
            count?.message.contains("line 3: the record has 2 fields, the header 3") == true
                && count?.message.hasSuffix("reading resumes on line 5") == true, "\(count?.message ?? "")")
        let raw = try #require(count.flatMap { RawRecordError.record(in: $0) })
        #expect(raw.bytes == Array("2,\"two\nlines\"\n".utf8) && raw.line == 3)
        var context = ExecutionContext()
        reader.update(&context)
        let lineFive = Array(text.utf8).firstRange(of: Array("3,c,3".utf8))?.lowerBound
        #expect(context.int("reader.offset") == lineFive && context.int("reader.line") == 5)
        #expect(context.int("reader.count") == 2)

        // A reader opened on the saved position goes on with line 5.
        var restarted = CSVReader<Order>(path: path)
        try await restarted.open(context)
        #expect(try await restarted.read()?.id == 3)
        let six = await batchError { _ = try await restarted.read() }
        #expect(six?.message.contains("line 6, field 'item' (column 2): a character after the closing quote") == true)
        #expect(try await restarted.read()?.id == 5)
        let unclosed = await batchError { _ = try await restarted.read() }
        #expect(
            unclosed?.message.contains("line 8, field 'item' (column 2): a quoted field is not closed") == true,
            "\(unclosed?.message ?? "")")
        #expect(try await restarted.read() == nil)
        restarted.update(&context)
        #expect(context.int("reader.count") == 6 && context.int("reader.offset") == text.utf8.count)
    }

    @Test("a line inside a quoted field of a record with the wrong field count is never read as a record")
    func noRecordFromInsideAQuotedField() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("orders.csv")
        try writeFile(path, "id,item,amount\n1,a,1\n2,\"note:\n9,phantom,9\n\"\n3,c,3\n")
        let (orders, step, _, skipped) = try await readSkipping { CSVReader<Order>(path: path) }
        #expect(orders.map(\.id) == [1, 3])
        #expect(step.counters.readSkip == 1)
        let raw = try #require(skipped.first?.rawRecord)
        #expect(raw.line == 3 && raw.bytes == Array("2,\"note:\n9,phantom,9\n\"\n".utf8))
        #expect(
            skipped.first?.reason.contains("line 3: the record has 2 fields, the header 3") == true
                && skipped.first?.reason.contains("reading resumes on line 6") == true, "\(skipped)")
    }

    @Test("JSON Lines: a read skip keeps the line; reader.count is read plus read skips")
    func jsonLinesSkip() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("orders.jsonl")
        let bad = "{\"id\":2,\"item\":\"x\",\"amount\":1.2.3}"
        try writeFile(
            path,
            "{\"id\":1,\"item\":\"a\",\"amount\":1}\n\(bad)\r\n\n{\"id\":3,\"item\":\"c\",\"amount\":3}\n"
        )
        let (orders, step, _, skipped) = try await readSkipping { JSONLinesReader<Order>(path: path) }
        #expect(orders.map(\.id) == [1, 3])
        let raw = try #require(skipped.first?.rawRecord)
        #expect(raw.text == bad + "\r\n" && raw.line == 2 && raw.offset == 31 && raw.length == Int64(bad.count + 2))
        #expect(step.context.int("reader.count") == 3 && step.counters.readSkip == 1 && step.counters.read == 2)
    }

    @Test("invalid UTF-8 in a skipped record is kept as base64, byte for byte")
    func binaryRecord() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("orders.csv")
        var bytes = Data("id,item,amount\n1,a,1\n2,\"".utf8)
        bytes.append(contentsOf: [0xC3, 0x28, 0x0A])
        bytes.append(Data("3,c,3\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        let (orders, _, _, skipped) = try await readSkipping { CSVReader<Order>(path: path) }
        #expect(orders.map(\.id) == [1, 3])
        let raw = try #require(skipped.first?.rawRecord)
        #expect(raw.text == nil && raw.bytes == Array("2,\"".utf8) + [0xC3, 0x28, 0x0A])
    }

    @Test("a process skip records the item as JSON, never as a Swift description")
    func processSkipJSON() {
        struct Opaque { var secret = "hunter2" }
        #expect(SkippedItem.json(of: Order(id: 7, item: "a", amount: 1)) == ["id": 7, "item": "a", "amount": 1])
        let opaque = SkippedItem.json(of: Opaque())
        guard case .object(let fields) = opaque else {
            Issue.record("not an object: \(opaque)")
            return
        }
        #expect(fields["notEncodable"]?.stringValue?.hasSuffix("Opaque") == true, "\(opaque)")
        #expect(!"\(opaque)".contains("hunter2"))
    }
}
