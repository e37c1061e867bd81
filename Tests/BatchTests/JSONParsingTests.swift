import Batch
import BatchTestKit
import Foundation
import Testing

@Suite("Strict JSON parsing")
struct JSONParsingTests {
    /// The message of the error parsing `bytes` throws, or `"parsed"`.
    private func failure(_ bytes: [UInt8]) -> String {
        do {
            _ = try JSONValue(parsing: bytes)
            return "parsed"
        } catch let error as BatchError {
            #expect(error.code == .invalidJSON)
            #expect(error.message.hasPrefix("invalid JSON: "))
            return error.message
        } catch {
            return "\(error)"
        }
    }

    private func failure(_ text: String) -> String { failure(Array(text.utf8)) }

    @Test(
        "refused text gets a message saying what is wrong and where",
        arguments: [
            (#"{"job":"hello","job":"count"}"#, "duplicate key 'job' in object at the top level (byte offset 15)"),
            (#"{"params":{"n":1,"n":2}}"#, "duplicate key 'n' in object at params (byte offset 17)"),
            (#"[{"a":1},{"b":{"c":1,"c":1}}]"#, "duplicate key 'c' in object at [1].b"),
            (#"{"n":18446744073709551616}"#, "integer 18446744073709551616 at n is outside the 64-bit range"),
            (
                #"{"params":{"n":18446744073709551617}}"#,
                "integer 18446744073709551617 at params.n is outside the 64-bit range"
            ),
            ("9223372036854775808", "integer 9223372036854775808 at the top level is outside the 64-bit range"),
            ("-9223372036854775809", "integer -9223372036854775809 at the top level is outside the 64-bit range"),
            (#"{"x":1e400}"#, "number 1e400 at x is out of range"),
            ("-1e400", "number -1e400 at the top level is out of range"),
            (#"{"a":[0,1E400]}"#, "number 1E400 at a[1] is out of range"),
            (#""\ud800""#, #"lone surrogate \ud800 in string at the top level"#),
            (#"{"k":"\udc00x"}"#, #"lone surrogate \udc00 in string at k"#),
            (#"["\ud800\u0041"]"#, #"lone surrogate \ud800 in string at [0]"#),
            (#"{"a":1} x"#, "unexpected 'x' after the JSON value at the top level (byte offset 8)"),
            ("[1]]", "unexpected ']' after the JSON value"),
            ("", "the text is empty"),
            (" \n\t ", "the text is empty"),
            ("[1,]", "expected a value (string, number, object, array, true, false or null), found ']' at [1]"),
            (#"{"a":1,}"#, "expected a string key in object, found '}'"),
            (#"{"a" 1}"#, "expected ':' after key 'a' in object, found '1'"),
            (#"{"a":1 "b":2}"#, "expected ',' or '}' after member 'a' in object, found '\"'"),
            ("[1 2]", "expected ',' or ']' after element 0 in array, found '2'"),
            ("01", "a leading zero is not allowed"),
            ("[1.]", "invalid number 1.: expected a digit after '.', found ']' at [0]"),
            ("1e+", "expected a digit in the exponent"),
            ("-", "expected a digit after '-'"),
            ("+1", "expected a value"),
            (".5", "expected a value"),
            ("\"a\tb\"", #"unescaped control character U+0009 in string at the top level (write it as \u0009)"#),
            (#""\x""#, #"invalid escape '\x' in string at the top level (allowed: \" \\"#),
            (#""\u12G4""#, "invalid \\u escape in string: 'G' is not a hexadecimal digit"),
            (#""\u12""#, "incomplete \\u escape"),
            (#"{"a":"abc"#, "unterminated string"),
            ("[1,[2,", "unexpected end of the text (expected a value) at [1][1]"),
            ("tru", "invalid literal: expected 'true'"),
            ("nul", "invalid literal: expected 'null'"),
            ("NaN", "expected a value"),
            ("Infinity", "expected a value"),
            ("{'a':1}", "expected a string key in object, found '''"),
            (#"{"odd key":{"x":[1,}]}}"#, #"found '}' at ["odd key"].x[1]"#),
        ])
    func refused(text: String, expected: String) {
        let message = failure(text)
        #expect(message.contains(expected), "\(message)")
    }

    @Test(
        "accepted text gives the exact value",
        arguments: [
            ("-9223372036854775808", JSONValue.int(.min)), ("9223372036854775807", .int(.max)),
            ("0", .int(0)), ("-0", .int(0)), ("1.0e2", .double(100)), ("1E2", .double(100)),
            ("2.5", .double(2.5)), ("1e-400", .double(0)), ("-1.5e-3", .double(-0.0015)),
            ("18446744073709551616.0", .double(18_446_744_073_709_551_616.0)),
            (#""\u0000""#, .string("\u{0}")), (#""a\u0000b""#, .string("a\u{0}b")),
            (#""\ud83d\ude00""#, .string("😀")), (#""\/\"\\\b\f\n\r\t""#, .string("/\"\\\u{8}\u{C}\n\r\t")),
            (#""é😀""#, .string("é😀")), (#""\u00e9\u00E9""#, .string("éé")),
            ("\u{FEFF}{\"a\":1}", ["a": 1]), (" \t\n\r[1 , 2]\n", [1, 2]),
            ("[true,false,null]", [true, false, nil]), (#"{"a":{},"b":[]}"#, ["a": [:], "b": []]),
        ] as [(String, JSONValue)])
    func accepted(text: String, expected: JSONValue) throws {
        #expect(try JSONValue(parsing: text) == expected)
        #expect(try JSONValue(parsing: Data(text.utf8)) == expected)
        #expect(try JSONValue(parsing: Array(text.utf8)) == expected)
    }

    @Test("-0.0 keeps its sign; -0 is the integer 0")
    func negativeZero() throws {
        let value = try JSONValue(parsing: "-0.0")
        #expect(value.doubleValue?.sign == .minus)
        #expect(try JSONValue(parsing: "-0") == .int(0))
    }

    @Test("2^64 and 2^64+1 are both refused, so they cannot become the same value")
    func largeIntegersDoNotCollide() {
        let first = failure(#"{"n":18446744073709551616}"#)
        let second = failure(#"{"n":18446744073709551617}"#)
        #expect(first.contains("18446744073709551616 at n is outside the 64-bit range"), "\(first)")
        #expect(second.contains("18446744073709551617 at n is outside the 64-bit range"), "\(second)")
        #expect(failure(String(repeating: "9", count: 200)).contains("9999…"))
    }

    @Test("text from a store that prints doubles in full reads large integers as the nearest double, on request")
    func largeIntegersAsDoubles() throws {
        // What PostgreSQL jsonb prints for [1e+20, 1e-05, 100.0, -1.5e+300] written by canonicalJSON.
        let stored = "[100000000000000000000, 0.00001, 100.0, -15" + String(repeating: "0", count: 299) + "]"
        #expect(failure(stored).contains("integer 100000000000000000000 at [0] is outside the 64-bit range"))
        let value = try JSONValue(parsing: stored, largeIntegers: .nearestDouble)
        #expect(value == [.double(1e20), .double(0.00001), .double(100), .double(-1.5e300)])
        #expect(try JSONValue(parsing: Data(stored.utf8), largeIntegers: .nearestDouble) == value)
        #expect(try JSONValue(parsing: "9223372036854775807", largeIntegers: .nearestDouble) == .int(.max))
        #expect(try JSONValue(parsing: "-9223372036854775808", largeIntegers: .nearestDouble) == .int(.min))
        #expect(try JSONValue(parsing: "9223372036854775808", largeIntegers: .nearestDouble) == .double(0x1p63))
        let tooLarge = "1" + String(repeating: "0", count: 400)
        #expect(
            (try? JSONValue(parsing: tooLarge, largeIntegers: .nearestDouble)) == nil,
            "a 401-digit integer is beyond any double")
    }

    @Test(
        "invalid UTF-8 is refused where it is",
        arguments: [
            ([0x22, 0xFF, 0x22], "invalid UTF-8 (bytes 0xFF 0x22) in string at the top level (byte offset 1)"),
            ([0x22, 0xC0, 0x80, 0x22], "invalid UTF-8 (bytes 0xC0 0x80"),  // overlong NUL
            ([0x22, 0xED, 0xA0, 0x80, 0x22], "invalid UTF-8 (bytes 0xED 0xA0 0x80"),  // encoded surrogate
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], "invalid UTF-8 (bytes 0xF4 0x90 0x80 0x80)"),  // over U+10FFFF
            ([0x22, 0xE2, 0x82, 0x22], "invalid UTF-8 (bytes 0xE2 0x82 0x22)"),  // cut short
            ([0x22, 0x80, 0x22], "invalid UTF-8 (bytes 0x80 0x22)"),  // stray continuation byte
            (
                [0x22, 0x5C, 0x6E, 0xFE, 0x22],
                "invalid UTF-8 (bytes 0xFE 0x22) in string at the top level (byte offset 3)"
            ),
            (Array(#"{"a":"x"#.utf8) + [0xC3], "invalid UTF-8 (bytes 0xC3) in string at a"),
            ([0xFF], "found byte 0xFF at the top level (byte offset 0)"),
            ([0xFE, 0xFF, 0x00, 0x31], "found byte 0xFE"),  // UTF-16: not accepted
            (Array(#"{"a":1}"#.utf8) + [0x00], "unexpected byte 0x0 after the JSON value"),
        ] as [([UInt8], String)])
    func invalidUTF8(bytes: [UInt8], expected: String) {
        let message = failure(bytes)
        #expect(message.contains(expected), "\(message)")
    }

    @Test("valid UTF-8 of every length is kept")
    func validUTF8() throws {
        for text in [
            "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}",
        ] {
            #expect(try JSONValue(parsing: "\"\(text)\"") == .string(text))
            #expect(try JSONValue(parsing: "\"\\n\(text)\"") == .string("\n" + text))
        }
    }

    @Test("nesting is limited to 100 levels, and any depth is refused without a crash")
    func nesting() throws {
        let limit = JSONValue.maximumNestingDepth
        #expect(limit == 100)
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(try JSONValue(parsing: deepest).arrayValue != nil)
        let objects = String(repeating: #"{"a":"#, count: limit) + "1" + String(repeating: "}", count: limit)
        #expect(try JSONValue(parsing: objects).objectValue != nil)
        for depth in [limit + 1, 1_000, 100_000] {
            let arrays = failure(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
            #expect(arrays.contains("nesting deeper than 100 levels at [0][0][0][0][0]…"), "\(arrays)")
            #expect(arrays.hasSuffix("(byte offset 100)"), "\(arrays)")
            let nested = failure(
                String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth))
            #expect(nested.contains("nesting deeper than 100 levels at a.a.a.a.a…a.a.a.a.a.a"), "\(nested)")
            let unclosed = failure(String(repeating: "[", count: depth))
            #expect(unclosed.contains("nesting deeper than 100 levels"), "\(unclosed)")
        }
    }

    @Test("keys that are not plain are quoted in paths, long ones cut")
    func pathsQuoteOddKeys() {
        let long = String(repeating: "k", count: 100)
        let message = failure(#"{"a.b":{"\#(long)":{"c d":[1,1e999]}}}"#)
        #expect(
            message.contains(
                #"number 1e999 at ["a.b"]["# + "\"" + String(repeating: "k", count: 40)
                    + #"…"]["c d"][1] is out of range"#), "\(message)")
        let nul = failure(#"{"x\u0000":[1,}"#)
        #expect(nul.contains(#"at ["x\u0000"][1]"#), "\(nul)")
    }

    @Test("canonical JSON of parsed samples parses back equal")
    func samplesRoundTrip() throws {
        let samples = [
            #"{"b":1,"a":{"y":true,"x":[1,"2",null,-0.5,1e300]},"c":"\"q\"\n\u0000\u001f\u007f"}"#,
            #"[9223372036854775807,-9223372036854775808,0.1,100.0,1e-7,5e-324,1.7976931348623157e308]"#,
            #"{"é":"\u00e9","😀":"\ud83d\ude00","":"","\\":"\/"}"#, "[[],{},[[{}]]]", "\"\"", "null", "-0.0",
        ]
        for sample in samples {
            let value = try JSONValue(parsing: sample)
            let canonical = value.canonicalJSON
            let reparsed = try JSONValue(parsing: canonical)
            #expect(reparsed == value, "\(sample) -> \(canonical)")
            #expect(reparsed.canonicalJSON == canonical)
        }
    }

    @Test("random values: canonical JSON parses back equal (fixed seed)")
    func randomRoundTrip() throws {
        var generator = SeededRandomNumberGenerator(seed: 0x5EED_BA7C)
        for _ in 0..<500 {
            let value = JSONValue.random(depth: 5, using: &generator)
            let canonical = value.canonicalJSON
            let reparsed: JSONValue
            do { reparsed = try JSONValue(parsing: canonical) } catch {
                Issue.record("\(error) parsing \(canonical)")
                continue
            }
            #expect(reparsed == value, "\(canonical)")
            #expect(reparsed.canonicalJSON == canonical)
        }
    }

    @Test("the Decodable conformance still decodes through JSONDecoder")
    func decodable() throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":[1,2.5,"s",null,true]}"#.utf8))
        #expect(value == ["a": [1, 2.5, "s", nil, true]])
    }
}

extension JSONValue {
    /// A random value at most `depth` levels deep: every type, awkward strings and numbers included.
    static func random(depth: Int, using generator: inout SeededRandomNumberGenerator) -> JSONValue {
        let kinds = depth > 0 ? 8 : 6
        switch Int.random(in: 0..<kinds, using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2:
            let choices: [Int64] = [.min, .max, 0, -1, 1, Int64.random(in: .min ... .max, using: &generator)]
            return .int(choices.randomElement(using: &generator)!)
        case 3:
            while true {
                let double =
                    Bool.random(using: &generator)
                    ? Double(bitPattern: UInt64.random(in: 0 ... .max, using: &generator))
                    : Double(Int.random(in: -1000...1000, using: &generator)) / 8
                if double.isFinite { return .double(double) }
            }
        case 4, 5: return .string(randomString(using: &generator))
        case 6:
            return .array(
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in random(depth: depth - 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                members[randomString(using: &generator)] = random(depth: depth - 1, using: &generator)
            }
            return .object(members)
        }
    }

    private static func randomString(using generator: inout SeededRandomNumberGenerator) -> String {
        let pool: [Unicode.Scalar] = [
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "é", "\u{301}",
            "\u{2028}", "\u{FEFF}", "\u{FFFF}", "😀", "\u{10FFFF}", "中",
        ]
        var string = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...8, using: &generator) {
            string.append(pool.randomElement(using: &generator)!)
        }
        return String(string)
    }
}
