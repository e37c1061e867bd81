import Batch
import BatchFiles
import Foundation
import Testing

/// What `scripts/fuzz-csv` found, kept as tests.
@Suite("CSV: fuzzer findings")
struct FuzzFindingsTests {
    struct Row: Codable, Equatable, Sendable {
        var name: String
        var value: String
    }

    @Test("a first field starting with U+FEFF is written quoted and reads back whole, not as a byte order mark")
    func leadingByteOrderMarkCharacter() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("bom.csv")
        let rows = [Row(name: "\u{FEFF}a", value: "b"), Row(name: "1", value: "\u{FEFF}6")]
        let format = CSVFormat(hasHeader: false, columns: ["name", "value"])  // the field is the file's first bytes
        let written = try await writeWithJob(rows) { CSVWriter<Row>(path: path, format: format) }
        #expect(written.status == .completed, "\(written.exitMessage)")
        #expect(try readFile(path).starts(with: Data("\"\u{FEFF}a\"".utf8)), "quoted")
        #expect(try await readAll(CSVReader<Row>(path: path, format: format)) == rows)
    }

    @Test("Latin-1 fields with bytes from 0x80 read as their code points")
    func latin1Fields() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("latin1.csv")
        try Data(
            [0x6E, 0x61, 0x6D, 0x65, 0x2C, 0x76, 0x61, 0x6C, 0x75, 0x65, 0x0A] + [
                0x63, 0x61, 0x66, 0xE9, 0x2C, 0xFF, 0x80, 0x41, 0x0A,
            ]
        )
        .write(to: URL(fileURLWithPath: path))
        var format = CSVFormat.csv
        format.encoding = .isoLatin1
        let rows = try await readAll(CSVReader<Row>(path: path, format: format))
        #expect(rows == [Row(name: "caf\u{E9}", value: "\u{FF}\u{80}A")])
    }
}
