import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

@Suite("File readers and writers: restart")
struct FileRestartTests {
    /// A CSV → CSV (or JSON Lines) job that fails once at item `failAt`: in the processor (before the chunk is
    /// written) or in the writer just after the chunk reached the file (so the file holds an uncommitted chunk).
    static func copyJob(
        input: String, output: String, chunkSize: Int, failAt: Int, inWriter: Bool, jsonLines: Bool,
        processed: Recorder<Int>
    ) -> Job {
        let failOnce = FailOnce()
        let processor: @Sendable (Trade) async throws -> Trade? = { trade in
            processed.append(trade.id)
            if !inWriter, trade.id == failAt, failOnce.shouldFail("fail") {
                throw Boom(description: "failed at \(trade.id)")
            }
            var copy = trade
            copy.price *= 2
            return copy
        }
        let format = CSVFormat(columns: ["id", "symbol", "note", "price", "comment"])
        return Job("copy") {
            ChunkStep(
                "copy", chunkSize: chunkSize,
                reader: { _ in
                    jsonLines
                        ? AnyTradeReader(JSONLinesReader<Trade>(path: input))
                        : AnyTradeReader(CSVReader<Trade>(path: input))
                },
                processor: processor,
                writer: { _ in
                    let writer =
                        jsonLines
                        ? AnyTradeWriter(JSONLinesWriter<Trade>(path: output))
                        : AnyTradeWriter(CSVWriter<Trade>(path: output, format: format))
                    return GlitchingWriter(inner: writer, glitchAt: inWriter ? failAt : -1, glitches: failOnce)
                })
        }
    }

    @Test(
        "a failure mid-file leaves the .part file; the restart resumes and the output has each record exactly once",
        arguments: [("in.csv", "out.csv"), ("in.csv.gz", "out.csv.gz"), ("in.jsonl.gz", "out.jsonl")], [false, true])
    func restartAfterFailure(files: (input: String, output: String), inWriter: Bool) async throws {
        let (input, output) = files
        let directory = try TemporaryDirectory()
        let inputPath = directory.file(input)
        let outputPath = directory.file(output)
        let jsonLines = input.contains(".jsonl")
        let trades = awkwardTrades(1_000)
        let format = CSVFormat(columns: ["id", "symbol", "note", "price", "comment"])
        let prepared = try await writeWithJob(trades, chunkSize: 100) {
            jsonLines
                ? AnyTradeWriter(JSONLinesWriter<Trade>(path: inputPath))
                : AnyTradeWriter(CSVWriter<Trade>(path: inputPath, format: format))
        }
        #expect(prepared.status == .completed)

        let processed = Recorder<Int>()
        let jobOperator = try makeOperator(
            Self.copyJob(
                input: inputPath, output: outputPath, chunkSize: 50, failAt: 437, inWriter: inWriter,
                jsonLines: jsonLines, processed: processed))
        let failed = try await jobOperator.start("copy")
        #expect(failed.status == .failed)
        #expect(
            failed.exitMessage.contains(inWriter ? "glitch after writing" : "failed at 437"), "\(failed.exitMessage)")
        #expect(!FileManager.default.fileExists(atPath: outputPath), "nothing at the final name before completion")
        #expect(
            FileManager.default.fileExists(atPath: outputPath + ".part"), "the temporary file stays for the restart")
        let failedStep = try #require(try await jobOperator.execution(failed.id).steps.first)
        #expect(failedStep.counters.write == 400)
        #expect(failedStep.context["reader.count"] == 400)
        #expect(failedStep.context["writer.count"] == 400)
        let partial = FileReaderConfiguration(compression: output.hasSuffix(".gz") ? .gzip : .none)
        let inTemporaryFile =
            jsonLines
            ? try await readAll(JSONLinesReader<Trade>(path: outputPath + ".part", configuration: partial)).count
            : try await readAll(CSVReader<Trade>(path: outputPath + ".part", configuration: partial)).count
        #expect(inTemporaryFile == (inWriter ? 450 : 400), "a failing writer leaves an uncommitted chunk in the file")

        processed.removeAll()
        let restarted = try await jobOperator.restart(.executionId(failed.id))
        #expect(restarted.status == .completed, "\(restarted.exitMessage)")
        #expect(processed.all == Array(401...1_000), "the restart reads on from the last committed record")
        if inWriter {
            #expect(failedStep.counters.rollback == 1, "the chunk reached the file, then rolled back")
        }
        #expect(!FileManager.default.fileExists(atPath: outputPath + ".part"), "renamed on completion")

        let expected = trades.map { trade in
            var copy = trade
            copy.price *= 2
            return copy
        }
        let copied =
            jsonLines
            ? try await readAll(JSONLinesReader<Trade>(path: outputPath))
            : try await readAll(CSVReader<Trade>(path: outputPath))
        #expect(copied.map(\.id) == Array(1...1_000), "every record exactly once, in order")
        #expect(zip(copied, expected).allSatisfy { $0 == $1 }, "every record intact")
        if !jsonLines {
            let plain =
                output.hasSuffix(".gz")
                ? try await runProgram("/usr/bin/gzip", ["-dc", outputPath]) : try readFile(outputPath)
            let text = String(decoding: plain, as: UTF8.self)
            #expect(text.components(separatedBy: "id,symbol,note,price,comment\n").count == 2, "one header")
        }
    }

    @Test("a writer error retried after the writer wrote rolls the file back: no duplicates")
    func retryTruncates() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("out.csv")
        let trades = awkwardTrades(100)
        let glitches = FailOnce()
        let job = Job("retry") {
            ChunkStep(
                "write", chunkSize: 10, reader: { _ in ArrayItemReader(trades) },
                writer: { _ in
                    GlitchingWriter(
                        inner: CSVWriter<Trade>(
                            path: path, format: CSVFormat(columns: ["id", "symbol", "note", "price", "comment"])),
                        glitchAt: 55, glitches: glitches)
                }
            )
            .retry(RetryPolicy(limit: 2, when: { $0 is Boom }, backoff: Backoff(initial: .milliseconds(1))))
        }
        let execution = try await makeOperator(job).start("retry")
        #expect(execution.status == .completed, "\(execution.exitMessage)")
        #expect(try await readAll(CSVReader<Trade>(path: path)) == trades)
    }

    @Test("stop and failure leave the temporary file; only completion renames it")
    func temporaryFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("out.jsonl")
        for status in [BatchStatus.stopped, .failed, .completed] {
            var writer = JSONLinesWriter<Trade>(path: path)
            try await writer.open(ExecutionContext())
            try await writer.write(awkwardTrades(3), in: NoFileTransaction())
            try await writer.close(status)
            #expect(FileManager.default.fileExists(atPath: path) == (status == .completed), "\(status)")
            #expect(FileManager.default.fileExists(atPath: path + ".part") == (status != .completed), "\(status)")
        }
    }

    @Test("an empty input completes with nothing read; a writer may be told not to replace a file")
    func emptyAndExisting() async throws {
        let directory = try TemporaryDirectory()
        let input = directory.file("empty.csv")
        try writeFile(input, "")
        let output = directory.file("out.csv")
        try writeFile(output, "keep me\n")
        let job = Job("empty") {
            ChunkStep(
                "copy", chunkSize: 10, reader: { _ in CSVReader<Trade>(path: input) },
                writer: { _ in
                    CSVWriter<Trade>(path: output, configuration: FileWriterConfiguration(replacesExistingFile: false))
                })
        }
        let refused = try await makeOperator(job).start("empty")
        #expect(refused.status == .failed)
        #expect(refused.exitMessage.contains("already exists"), "\(refused.exitMessage)")
        #expect(String(decoding: try readFile(output), as: UTF8.self) == "keep me\n")

        try FileManager.default.removeItem(atPath: output)
        let completed = try await makeOperator(job).start("empty")
        #expect(completed.status == .completed, "\(completed.exitMessage)")
        #expect(try readFile(output).isEmpty, "no items and no known columns: an empty file")
    }

    @Test(
        "a restart after the output was renamed into place, its step's end not stored, resumes from the finished file",
        arguments: ["out.csv", "out.csv.gz", "out.jsonl"])
    func restartAfterTheRename(output: String) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file(output)
        let format = CSVFormat(columns: ["id", "symbol", "note", "price", "comment"])
        func writer() -> AnyTradeWriter {
            output.contains(".jsonl")
                ? AnyTradeWriter(JSONLinesWriter<Trade>(path: path))
                : AnyTradeWriter(CSVWriter<Trade>(path: path, format: format))
        }
        let repository = InMemoryJobRepository()
        let trades = awkwardTrades(20)
        var first = writer()
        try await first.open(ExecutionContext())
        let chunk = try await repository.beginChunk()
        try await first.write(trades, in: chunk)
        var checkpoint = ExecutionContext()
        first.update(&checkpoint)
        try await first.close(.completed)  // renamed into place; then the step's COMPLETED is not stored
        let finished = try readFile(path)

        var second = writer()
        try await second.open(checkpoint)
        try await second.close(.completed)
        #expect(try readFile(path) == finished, "the same file, each record once")
        #expect(!FileManager.default.fileExists(atPath: path + ".part"))
    }

    @Test("a restart whose temporary file is gone fails with a clear error")
    func missingTemporaryFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("out.csv")
        var writer = CSVWriter<Trade>(path: path)
        let error = await batchError { try await writer.open(ExecutionContext(["writer.offset": 120])) }
        #expect(error?.code == .fileFailure)
        #expect(error?.message.contains("the last run's temporary file is gone") == true)
    }
}

/// Writes through a writer, then fails once after writing the chunk holding `glitchAt`: the file holds the chunk,
/// the transaction does not.
struct GlitchingWriter<Inner: ItemWriter>: ItemWriter where Inner.Item == Trade {
    var inner: Inner
    let glitchAt: Int
    let glitches: FailOnce

    mutating func open(_ context: ExecutionContext) async throws { try await inner.open(context) }
    func update(_ context: inout ExecutionContext) { inner.update(&context) }
    mutating func close(_ status: BatchStatus) async throws { try await inner.close(status) }
    mutating func rollback(to committed: ExecutionContext) async throws { try await inner.rollback(to: committed) }
    mutating func write(_ items: [Trade], in transaction: any ChunkTransaction) async throws {
        try await inner.write(items, in: transaction)
        if items.contains(where: { $0.id == glitchAt }), glitches.shouldFail("glitch") {
            throw Boom(description: "glitch after writing")
        }
    }
}

/// Either file reader of trades, for tests run over both formats.
struct AnyTradeReader: ItemReader {
    var base: any ItemReader<Trade>
    init(_ base: any ItemReader<Trade>) { self.base = base }
    mutating func open(_ context: ExecutionContext) async throws { try await base.open(context) }
    mutating func read() async throws -> Trade? { try await base.read() }
    func update(_ context: inout ExecutionContext) { base.update(&context) }
    mutating func close(_ status: BatchStatus) async throws { try await base.close(status) }
}

/// Either file writer of trades, for tests run over both formats.
struct AnyTradeWriter: ItemWriter {
    var base: any ItemWriter<Trade>
    init(_ base: any ItemWriter<Trade>) { self.base = base }
    mutating func open(_ context: ExecutionContext) async throws { try await base.open(context) }
    mutating func write(_ items: [Trade], in transaction: any ChunkTransaction) async throws {
        try await base.write(items, in: transaction)
    }
    func update(_ context: inout ExecutionContext) { base.update(&context) }
    mutating func rollback(to committed: ExecutionContext) async throws { try await base.rollback(to: committed) }
    mutating func close(_ status: BatchStatus) async throws { try await base.close(status) }
}

/// A transaction for calling a writer directly.
final class NoFileTransaction: ChunkTransaction {
    func commit(_ stepExecution: StepExecution) async throws -> StepExecution { stepExecution }
    func rollback() async {}
}
