import Batch
import BatchFiles
import BatchTestKit
import Foundation

/// A record of the partitioning tests: an id and a note that may hold delimiters, quotes and line breaks.
struct Note: Codable, Equatable, Sendable {
    var id: Int
    var note: String
}

/// A CSV field, quoted when it must be (RFC 4180).
func csvField(_ text: String, delimiter: Character = ",") -> String {
    // By scalars: "\r\n" is one Character, equal to neither "\r" nor "\n".
    let special = Set(String(delimiter).unicodeScalars).union(["\"", "\n", "\r"])
    guard text.unicodeScalars.contains(where: special.contains) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// A CSV (or TSV) file of `notes` with a header, lines ended by `lineEnd`, optionally without a final line break.
func csvText(
    _ notes: [Note], delimiter: Character = ",", lineEnd: String = "\n", finalLineBreak: Bool = true
) -> String {
    var lines = ["id\(delimiter)note"]
    lines += notes.map { "\($0.id)\(delimiter)\(csvField($0.note, delimiter: delimiter))" }
    return lines.joined(separator: lineEnd) + (finalLineBreak ? lineEnd : "")
}

/// A JSON Lines file of `notes`.
func jsonLinesText(_ notes: [Note], lineEnd: String = "\n", finalLineBreak: Bool = true) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let lines = try notes.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
    return lines.joined(separator: lineEnd) + (finalLineBreak ? lineEnd : "")
}

/// Reads the records of `range` of a CSV or TSV file straight through, with a fresh reader.
func readCSV(_ path: String, _ range: FileByteRange?, format: CSVFormat = .csv) async throws -> [Note] {
    try await readAll(CSVReader<Note>(path: path, format: format, configuration: FileReaderConfiguration(range: range)))
}

/// Reads the records of `range` of a JSON Lines file straight through, with a fresh reader.
func readJSONLines(_ path: String, _ range: FileByteRange?) async throws -> [Note] {
    try await readAll(JSONLinesReader<Note>(path: path, configuration: FileReaderConfiguration(range: range)))
}
