import Batch
import Testing

@testable import BatchServer

/// The API's JSON writer: what it writes parses back, through the strict parser, to the same value.
@Suite struct JSONBytesTests {
    @Test(arguments: [
        "plain", "", "quote \" and backslash \\", "line\nbreak\r\ttab", "\u{1}\u{1F}\u{7F}", "ünïcödé ✓ 𝄞",
        "</script><script>alert(1)</script>",
    ])
    func stringsRoundTrip(text: String) throws {
        let value: JSONValue = ["text": .string(text), "list": [.string(text), 1, -2, 0.5, true, false, nil]]
        #expect(try JSONValue(parsing: JSONBytes.encode(value)) == value)
    }

    @Test func keysAreSortedAndNothingIsPadded() {
        let value: JSONValue = ["b": 1, "a": ["d": .null, "c": []], "é": "x"]
        #expect(String(decoding: JSONBytes.encode(value), as: UTF8.self) == #"{"a":{"c":[],"d":null},"b":1,"é":"x"}"#)
    }
}
