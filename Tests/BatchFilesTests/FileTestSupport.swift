import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

/// A directory of its own for one test, removed when the test ends.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/swift-batch-files-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The path of `name` inside the directory.
    func file(_ name: String) -> String { path + "/" + name }
}

/// A record with every kind of awkward text a file format must carry.
struct Trade: Codable, Equatable, Sendable {
    var id: Int
    var symbol: String
    var note: String
    var price: Double
    var comment: String?
}

/// Trades whose notes hold delimiters, quotes, line breaks, backslashes, Unicode and empty text.
func awkwardTrades(_ count: Int) -> [Trade] {
    let notes = [
        "plain", "comma, inside", "tab\tinside", "say \"hi\"", "\"quoted start", "line\nbreak", "crlf\r\nbreak",
        "", " spaced ", "back\\slash", "semi;colon|pipe", "Grüße, 東京 🚀", "e\u{301} combining", "trailing quote\"",
        "\n", ",", "\"", "\\n not a newline", "multi\n\nline\n",
    ]
    return (0..<count).map { index in
        Trade(
            id: index + 1, symbol: ["AAPL", "ÆØÅ", "", "x,y"][index % 4], note: notes[index % notes.count],
            price: Double(index) * 1.25 - 3.5, comment: index % 3 == 0 ? nil : "c\(index)")
    }
}

/// Writes `bytes` to `path`.
func writeFile(_ path: String, _ text: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// The bytes of the file at `path`.
func readFile(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
}

/// Runs a program and returns its standard output; fails the test on a non-zero exit. It waits off the cooperative
/// threads (`runToEnd(reading:)`), so a slow program holds up no other test.
func runProgram(_ executable: String, _ arguments: [String], in directory: String? = nil) async throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let output = Pipe()
    process.standardOutput = output
    let (status, data) = try await process.runToEnd(reading: output)
    #expect(status == 0, "\(executable) \(arguments) exited \(status)")
    return data
}

/// Writes `items` with a chunk job whose writer `makeWriter` makes, and returns the execution.
func writeWithJob<Writer: ItemWriter>(
    _ items: [Writer.Item], chunkSize: Int = 7, _ makeWriter: @escaping @Sendable () -> Writer
) async throws -> JobExecution where Writer.Item: Sendable {
    let job = Job("write") {
        ChunkStep("write", chunkSize: chunkSize, reader: { _ in ArrayItemReader(items) }, writer: { _ in makeWriter() })
    }
    return try await makeOperator(job).start("write")
}

/// Reads everything `makeReader`'s reader gives with a chunk job, and returns the items and the execution.
func readWithJob<Reader: ItemReader>(
    chunkSize: Int = 5, _ makeReader: @escaping @Sendable () -> Reader
) async throws -> (items: [Reader.Item], execution: JobExecution) where Reader.Item: Sendable {
    let items = Recorder<Reader.Item>()
    let job = Job("read") {
        ChunkStep(
            "read", chunkSize: chunkSize, reader: { _ in makeReader() },
            writer: { _ in ClosureItemWriter<Reader.Item> { items.append(contentsOf: $0) } })
    }
    let execution = try await makeOperator(job).start("read")
    return (items.all, execution)
}

/// Reads a whole file with `reader` directly (no job), returning the items or the first error.
func readAll<Reader: ItemReader>(_ reader: Reader) async throws -> [Reader.Item] {
    var reader = reader
    try await reader.open(ExecutionContext())
    var items: [Reader.Item] = []
    while let item = try await reader.read() { items.append(item) }
    try await reader.close(.completed)
    return items
}

/// The error `body` throws, as a ``BatchError``; records an issue when it throws none or another type.
func batchError(_ body: () async throws -> Void) async -> BatchError? {
    do {
        try await body()
        Issue.record("expected an error")
        return nil
    } catch let error as BatchError {
        return error
    } catch {
        Issue.record("expected a BatchError, got \(error)")
        return nil
    }
}
