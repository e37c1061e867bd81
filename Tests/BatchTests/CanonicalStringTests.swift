import Batch
import BatchTestKit
import Testing

/// Strings in canonical JSON: the byte-run writer escapes exactly as the character-by-character one did (instance
/// keys hash this text, so one byte of difference would split instances), and the text parses back to the string.
@Suite struct CanonicalStringTests {
    /// The escaping rules, one Unicode scalar at a time (the writer's earlier implementation).
    static func reference(_ string: String) -> String {
        var output = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                output +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    static let alphabet: [String] = [
        "a", "Z", "0", " ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{1f}", "\u{7f}", "é", "e\u{301}", "ß",
        "日本", "🧾", "👩‍👩‍👧", "\u{2028}", "/", "{", "}", ":", ",",
    ]

    @Test func escapesExactlyAsBeforeAndParsesBack() throws {
        var random = SeededRandomNumberGenerator(seed: 13)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...12, using: &random)
            let string = (0..<length).map { _ in Self.alphabet.randomElement(using: &random)! }.joined()
            let written = JSONValue.string(string).canonicalJSON
            #expect(written == Self.reference(string), "\(string.debugDescription)")
            #expect(try JSONValue(parsing: written) == .string(string), "\(string.debugDescription)")
        }
        #expect(JSONValue.object(["k\"ey": .string("a\u{1}b")]).canonicalJSON == #"{"k\"ey":"a\u0001b"}"#)
    }
}
