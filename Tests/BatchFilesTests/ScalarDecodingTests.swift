import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

/// One column named `value` holding a `T`.
struct ValueRow<T: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    var value: T
}

/// Reads a CSV file of one `value` column holding `texts` and returns, for each, the value or the error message.
func decodeEach<T: Codable & Sendable & Equatable>(
    _ texts: [String], as type: T.Type, in directory: TemporaryDirectory
) async throws -> [Result<T, BatchError>] {
    let path = directory.file("values-\(UUID().uuidString).csv")
    let quoted = texts.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    try writeFile(path, "value\n" + quoted.joined(separator: "\n") + "\n")
    var reader = CSVReader<ValueRow<T>>(path: path)
    try await reader.open(ExecutionContext())
    var results: [Result<T, BatchError>] = []
    for _ in texts {
        do {
            guard let row = try await reader.read() else { break }
            results.append(.success(row.value))
        } catch let error as BatchError {
            results.append(.failure(error))
        }
    }
    #expect(try await reader.read() == nil)
    return results
}

@Suite("File formats: scalar fields decode whole or not at all")
struct ScalarDecodingTests {
    /// Texts that are not the type, each refused with a malformedRecord naming the file, line and field.
    @Test("malformed numbers, booleans, dates and UUIDs are refused, naming file, line and field")
    func malformedTable() async throws {
        let directory = try TemporaryDirectory()
        try await expectRefused(
            [
                "1.2.3", "--1", "1,50", "1e", "e5", ".", "+", "-", "", " 1", "1 ", "0x10", "1_000", "NaN", "1e300",
                "1e-300", "12345678901234567890123456789012345678901", "1.2e3.4", "1..2", "١٢", "½", "1e+",
            ], as: Decimal.self, in: directory)
        try await expectRefused(
            ["1.5", "1e3", "+", "-", " 1", "1 ", "9223372036854775808", "1-", "0x1", "1,000", "", "--1", "٣"],
            as: Int.self, in: directory)
        try await expectRefused(["256", "-1", "1.0"], as: UInt8.self, in: directory)
        try await expectRefused(
            ["1.2.3", "1e309", "-1e309", "1e-400", "0x1p3", "--1", "1,5", "infinit", "nan1", "", " 1", "1e", "inf "],
            as: Double.self, in: directory)
        try await expectRefused(["1e39", "1e-50", "3.4e38x"], as: Float.self, in: directory)
        try await expectRefused(["yes", "truee", "2", "", " true", "t"], as: Bool.self, in: directory)
        try await expectRefused(
            [
                "2026-01-01x", "2026-02-30", "2025-02-29", "2026-1-1", "2026-01-01T10:00:00Zjunk",
                "2026-01-01T25:00:00Z", "2026-01-01T10:00:00", "2026-01-01 10:00:00Z", "2026-01-01T10:00Z",
                "2026-13-01", "2026-01-01T10:00:00.Z", "2026-01-01T10:00:00+2", "", "20260101",
            ], as: Date.self, in: directory)
        try await expectRefused(
            ["E621E1F8-C36C-495A-93FC-0C247A3E6E5Fx", "not-a-uuid", "E621E1F8C36C495A93FC0C247A3E6E5F", ""],
            as: UUID.self, in: directory)
    }

    private func expectRefused<T: Codable & Sendable & Equatable>(
        _ texts: [String], as type: T.Type, in directory: TemporaryDirectory
    ) async throws {
        let results = try await decodeEach(texts, as: type, in: directory)
        #expect(results.count == texts.count)
        for (index, (text, result)) in zip(texts, results).enumerated() {
            switch result {
            case .success(let value):
                Issue.record("'\(text)' was read as \(T.self) \(value); it should be refused")
            case .failure(let error):
                #expect(error.code == .malformedRecord)
                #expect(
                    error.message.contains("values-") && error.message.contains(", line \(index + 2), field 'value'"),
                    "\(error.message)")
            }
        }
    }

    @Test("well-formed texts are read as the value they write, fractions of seconds included")
    func acceptedTable() async throws {
        let directory = try TemporaryDirectory()
        let decimals = try await decodeEach(
            ["1.", ".5", "-0.5e+3", "+7", "0.10", "12345678901234567890123456789012345678", "1E2", "-0"],
            as: Decimal.self, in: directory)
        let expected: [Decimal] = [
            1, 0.5, -500, 7, Decimal(string: "0.1")!, Decimal(string: "12345678901234567890123456789012345678")!,
            100, 0,
        ]
        #expect(decimals.map { try? $0.get() } == expected)
        let doubles = try await decodeEach(
            ["1e308", "-inf", "Infinity", "5e-324", "0.1"], as: Double.self, in: directory)
        #expect(doubles.map { try? $0.get() } == [1e308, -.infinity, .infinity, .leastNonzeroMagnitude, 0.1])
        let dates = try await decodeEach(
            ["2026-01-01", "2026-01-01T10:00:00.5Z", "2026-01-01T10:00:00+02:00", "2024-02-29T23:59:59.25-0130"],
            as: Date.self, in: directory)
        let midnight = Date(timeIntervalSince1970: 1_767_225_600)
        #expect(
            dates.map { try? $0.get() } == [
                midnight, midnight + 36_000.5, midnight + 28_800,
                Date(timeIntervalSince1970: 1_709_251_199.25 + 5_400),
            ])
    }

    @Test("a JSON Lines reader refuses what does not fit, and reads .iso8601 dates strictly")
    func jsonLines() async throws {
        let directory = try TemporaryDirectory()
        struct Numbers: Decodable { var int: Int?; var float: Float?; var double: Double?; var date: Date? }
        let path = directory.file("values.jsonl")
        let lines = [
            #"{"int":1.5}"#, #"{"int":99999999999999999999}"#, #"{"float":1e39}"#, #"{"double":1e400}"#,
            #"{"int":"1"}"#, #"{"date":"2026-01-01T10:00:00Zjunk"}"#, #"{"date":"2026-02-30T10:00:00Z"}"#,
            #"{"date":"2026-01-01T10:00:00.5Z"}"#,
        ]
        try writeFile(path, lines.joined(separator: "\n") + "\n")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var reader = JSONLinesReader<Numbers>(path: path, decoder: decoder)
        try await reader.open(ExecutionContext())
        for line in 1..<lines.count {
            let error = await batchError { _ = try await reader.read() }
            #expect(error?.code == .malformedRecord)
            #expect(error?.message.contains("line \(line)") == true, "\(error?.message ?? "")")
        }
        let last = try await reader.read()
        #expect(last?.date == Date(timeIntervalSince1970: 1_767_261_600.5))
        if case .iso8601 = decoder.dateDecodingStrategy {} else { Issue.record("the caller's decoder was changed") }
    }
}
