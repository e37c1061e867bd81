import Batch
import BatchFiles
import Foundation
import Testing

@Suite("File readers' progress")
struct ReaderProgressTests {
    struct Row: Codable { var id: Int; var name: String }

    private func file(_ name: String, _ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a CSV reader reports the bytes it has read of the file's size, all of them at the end")
    func csv() async throws {
        let text = "id,name\n" + (1...100).map { "\($0),row \($0)\n" }.joined()
        var reader = CSVReader<Row>(path: try file("rows.csv", text))
        #expect(reader.progress == nil, "not open yet")
        try await reader.open(ExecutionContext())
        var last: Int64 = 0
        while try await reader.read() != nil {
            let progress = try #require(reader.progress)
            #expect(progress.total == Int64(text.utf8.count))
            #expect(progress.done >= last)
            last = progress.done
        }
        #expect(reader.progress?.done == Int64(text.utf8.count))
        #expect((reader as any ProgressReportingReader).progress != nil, "the engine sees it")
    }

    @Test("a JSON Lines reader reports bytes too; a gzip file reports nothing (its size is compressed bytes)")
    func jsonLinesAndGzip() async throws {
        let text = (1...50).map { #"{"id":\#($0),"name":"n"}"# + "\n" }.joined()
        var reader = JSONLinesReader<Row>(path: try file("rows.jsonl", text))
        try await reader.open(ExecutionContext())
        _ = try await reader.read()
        let progress = try #require(reader.progress)
        #expect(progress.total == Int64(text.utf8.count))
        #expect(progress.done > 0 && progress.done < progress.total)
        let plain = try file("rows.csv", "id,name\n1,a\n2,b\n")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = [plain]
        try gzip.run()
        gzip.waitUntilExit()
        var compressed = CSVReader<Row>(path: plain + ".gz")
        try await compressed.open(ExecutionContext())
        #expect(try await compressed.read()?.name == "a")
        #expect(compressed.progress == nil)
    }
}
