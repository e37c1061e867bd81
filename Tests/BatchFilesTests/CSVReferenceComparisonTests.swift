import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

/// Random CSV files, some well-formed and some not, from a seed.
enum RandomCSV {
    /// A well-formed RFC 4180 file: random fields quoted when they need it (and sometimes when not), random line
    /// endings, sometimes no final line break.
    static func wellFormed(using generator: inout SeededRandomNumberGenerator) -> String {
        let alphabet = Array("ab ,\"\n\r;é")
        var text = ""
        let fieldCount = Int.random(in: 1...4, using: &generator)
        for row in 0..<Int.random(in: 0...8, using: &generator) {
            if row > 0 { text += ["\n", "\r\n", "\r"].randomElement(using: &generator)! }
            let fields = (0..<fieldCount).map { _ in
                String(
                    (0..<Int.random(in: 0...5, using: &generator)).map { _ in alphabet.randomElement(using: &generator)!
                    })
            }
            text += fields.enumerated().map { index, field in
                let plain = field.allSatisfy { !",\"\n\r".contains($0) }
                // A lone empty field would be a blank line: quote it.
                let lone = fieldCount == 1 && field.isEmpty
                if plain, !lone, Bool.random(using: &generator) { return field }
                return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }.joined(separator: ",")
        }
        if Bool.random(using: &generator) { text += "\n" }
        return text
    }

    /// A random string of CSV's structural characters and a few others: mostly malformed.
    static func soup(using generator: inout SeededRandomNumberGenerator) -> String {
        let pieces = ["a", "b", ",", "\"", "\"", "\n", "\r\n", "\r", " ", "\"\""]
        return (0..<Int.random(in: 0...30, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
            .joined()
    }
}

@Suite("File formats: the CSV reader agrees with Python's csv module on random files", .timeLimit(.minutes(2)))
struct CSVReferenceComparisonTests {
    static let seed: UInt64 = 0xC5F_4180

    /// What the Swift reader makes of a file: the records before its first error, and that error.
    struct Outcome {
        var records: [[String]] = []
        var error: BatchError?
        var reads = 0
    }

    private func readSwift(_ path: String) async throws -> Outcome {
        var reader = CSVReader<[String]>(
            path: path, format: CSVFormat(hasHeader: false),
            configuration: FileReaderConfiguration(maxRecordLines: 1_000_000))
        try await reader.open(ExecutionContext())
        var outcome = Outcome()
        while outcome.reads < 1_000 {
            outcome.reads += 1
            do {
                guard let record = try await reader.read() else { break }
                if outcome.error == nil { outcome.records.append(record) }
            } catch let error as BatchError {
                #expect(error.code == .malformedRecord, "\(error)")
                outcome.error = outcome.error ?? error
            }
        }
        return outcome
    }

    @Test("300 generated files: the same records, and an error exactly where Python's strict reader has one")
    func compareWithPython() async throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("python3 is needed for the reference comparison")
            return
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/csv-reference.py").path
        var generator = SeededRandomNumberGenerator(seed: Self.seed)
        let directory = try TemporaryDirectory()
        var paths: [String] = []
        for index in 0..<300 {
            let text =
                index % 2 == 0 ? RandomCSV.wellFormed(using: &generator) : RandomCSV.soup(using: &generator)
            let path = directory.file("\(index).csv")
            try writeFile(path, text)
            paths.append(path)
        }
        let output = try await runProgram(python, [script] + paths)
        let lines = output.split(separator: 0x0A)
        #expect(lines.count == paths.count)
        struct Reference: Decodable {
            var records: [[String]]
            var error: Bool
        }
        var errors = 0
        for (index, (path, line)) in zip(paths, lines).enumerated() {
            let reference = try JSONDecoder().decode(Reference.self, from: Data(line))
            let ours = try await readSwift(path)
            let text = String(decoding: try readFile(path), as: UTF8.self)
            let context = "file \(index) (seed \(Self.seed)): \(text.debugDescription)"
            #expect(ours.reads < 1_000, "the reader keeps moving on: \(context)")
            if index % 2 == 0 { #expect(ours.error == nil && !reference.error, "well-formed: \(context)") }
            guard let error = ours.error else {
                #expect(!reference.error && ours.records == reference.records, "\(context)")
                continue
            }
            errors += 1
            let k = ours.records.count
            #expect(Array(reference.records.prefix(k)) == ours.records, "\(context): \(error.message)")
            if error.message.contains("a quote inside an unquoted field") {
                // Python's csv takes a quote inside an unquoted field as text; RFC 4180 does not allow it.
                if k < reference.records.count {
                    #expect(reference.records[k].contains { $0.contains("\"") }, "\(context): \(error.message)")
                }
            } else {
                #expect(reference.error && reference.records.count == k, "\(context): \(error.message)")
            }
        }
        #expect(errors > 30, "the soup makes malformed files too")
    }
}
