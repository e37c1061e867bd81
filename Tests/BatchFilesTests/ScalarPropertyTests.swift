import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

/// Every scalar the writers write, with random values.
struct Scalars: Codable, Equatable, Sendable {
    var int: Int
    var int8: Int8
    var uint64: UInt64
    var double: Double
    var float: Float
    var decimal: Decimal
    var bool: Bool
    var date: Date
    var id: UUID
    var text: String

    static func random(using generator: inout SeededRandomNumberGenerator) -> Scalars {
        var double = Double(bitPattern: generator.next())
        if double.isNaN { double = -0.0 }
        var float = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
        if float.isNaN { float = .infinity }
        let digits = Int.random(in: 1...38, using: &generator)
        let significand = (0..<digits).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
        let decimal = Decimal(
            string: (Bool.random(using: &generator) ? "-" : "") + significand + "e"
                + String(Int.random(in: -40...40, using: &generator)))!
        let seconds = Double.random(in: -2e9...5e9, using: &generator)
        let date = Date(timeIntervalSince1970: Bool.random(using: &generator) ? seconds.rounded() : seconds)
        let alphabet = Array("ab ,;\t\"\\\n\r1.-eé東🚀")
        let text = String(
            (0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        return Scalars(
            int: Int(truncatingIfNeeded: generator.next()), int8: Int8(truncatingIfNeeded: generator.next()),
            uint64: generator.next(), double: double, float: float, decimal: decimal,
            bool: Bool.random(using: &generator), date: date,
            id: UUID(uuid: withUnsafeBytes(of: (generator.next(), generator.next())) { $0.load(as: uuid_t.self) }),
            text: text)
    }
}

@Suite("File formats: scalar properties (seeded random)")
struct ScalarPropertyTests {
    static let seed: UInt64 = 0x5EED_16

    @Test("every value the CSV and TSV writers write reads back equal", arguments: ["csv", "tsv", "linear-tsv"])
    func roundTrip(format name: String) async throws {
        let format: CSVFormat = name == "csv" ? .csv : name == "tsv" ? .tsv : .linearTSV
        var generator = SeededRandomNumberGenerator(seed: Self.seed)
        let values = (0..<400).map { _ in Scalars.random(using: &generator) }
        let directory = try TemporaryDirectory()
        let path = directory.file("scalars.\(name)")
        let written = try await writeWithJob(values, chunkSize: 100) { CSVWriter<Scalars>(path: path, format: format) }
        #expect(written.status == .completed, "\(written.exitMessage)")
        let (read, execution) = try await readWithJob(chunkSize: 100) { CSVReader<Scalars>(path: path, format: format) }
        #expect(execution.status == .completed, "\(execution.exitMessage)")
        #expect(read.count == values.count)
        for (index, (got, want)) in zip(read, values).enumerated() where got != want {
            Issue.record("seed \(Self.seed), value \(index): wrote \(want), read \(got)")
        }
    }

    /// Random short texts over digits, signs, points, exponents and separators: each is read as a number exactly
    /// when an independent grammar (a regular expression) calls it one, and then as that number.
    @Test("every text that is not a well-formed number is refused; every well-formed one is read exactly")
    func numbersOrNothing() async throws {
        var generator = SeededRandomNumberGenerator(seed: Self.seed)
        let alphabet = Array("0123456789+-.eE, x_")
        let texts = (0..<3_000).map { _ in
            String(
                (0..<Int.random(in: 0...7, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        }
        let grammar = try Regex(#"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"#)
        let wellFormed = texts.map { (try? grammar.wholeMatch(in: $0)) != nil }
        let directory = try TemporaryDirectory()

        let decimals = try await decodeEach(texts, as: Decimal.self, in: directory)
        let doubles = try await decodeEach(texts, as: Double.self, in: directory)
        let integers = try await decodeEach(texts, as: Int.self, in: directory)
        #expect(decimals.count == texts.count && doubles.count == texts.count && integers.count == texts.count)
        var accepted = 0
        for (index, text) in texts.enumerated() {
            let exponent = text.split(whereSeparator: { $0 == "e" || $0 == "E" }).dropFirst().first
            let huge = exponent.map { abs(Int($0) ?? 0) > 100 } ?? false
            switch (wellFormed[index], try? decimals[index].get()) {
            case (false, let value?): Issue.record("'\(text)' is no number but was read as the decimal \(value)")
            case (true, nil) where !huge: Issue.record("'\(text)' is a number but was refused as a decimal")
            case (true, let value?):
                accepted += 1
                #expect(value == Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), "'\(text)'")
            default: break
            }
            switch (wellFormed[index], try? doubles[index].get()) {
            case (false, let value?): Issue.record("'\(text)' is no number but was read as the double \(value)")
            case (true, nil) where !huge: Issue.record("'\(text)' is a number but was refused as a double")
            case (true, let value?): #expect(value == Double(text), "'\(text)'")
            default: break
            }
            #expect((try? integers[index].get()) == Int(text), "'\(text)' as an integer (seed \(Self.seed))")
        }
        #expect(accepted > 100, "the generator makes well-formed numbers too")
    }
}
