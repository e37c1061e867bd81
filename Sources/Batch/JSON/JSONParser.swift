/// What is wrong with JSON text, and where: the path to the value being read and the byte offset.
struct JSONSyntaxError: Error {
    /// The words before the location: `duplicate key 'job' in object`.
    var reason: String
    /// The words after the location, if any: ` is outside the 64-bit range`.
    var consequence: String = ""
    /// The byte offset (from 0) in the text where the problem is.
    var offset: Int
    /// The path from the value to the top, innermost first (components are added while the error unwinds).
    var reversedPath: [JSONPathComponent] = []

    /// `duplicate key 'job' in object at params (byte offset 42)`.
    var message: String {
        "\(reason) \(JSONPath.location(reversedPath.reversed()))\(consequence) (byte offset \(offset))"
    }
}

/// A strict RFC 8259 JSON parser: UTF-8 bytes in, ``JSONValue`` out, or an error naming what is wrong and where.
///
/// Strict where Foundation is lenient or ambiguous: a duplicate key in an object is refused (gateways disagree on
/// which one wins); an integer outside the 64-bit range is refused rather than rounded (two different large
/// integers must not become the same value); a number whose magnitude is too large for a `Double` (`1e400`) is
/// refused; invalid UTF-8, lone surrogate escapes (`"\ud800"`), unescaped control characters, leading zeros,
/// trailing commas and anything after the value are refused. Nesting deeper than
/// ``JSONValue/maximumNestingDepth`` is refused, so the recursion (and everything recursive on the values built)
/// stays shallow whatever the input. A UTF-8 byte order mark at the very start is skipped, as RFC 8259 allows.
///
/// Integers without fraction or exponent that fit in 64 bits become ``JSONValue/int(_:)`` (`-0` is `0`); every other
/// number becomes ``JSONValue/double(_:)`` (`1.0e2` is `100.0`, a number too small for a `Double` is `0.0`).
/// `\u0000` is accepted in strings: JSON can carry it; what stores text refuses it (see ``JobParameters/validate()``).
struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let maximumDepth: Int
    private let largeIntegers: JSONValue.LargeIntegerPolicy
    private var index = 0

    private init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int, largeIntegers: JSONValue.LargeIntegerPolicy) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        self.largeIntegers = largeIntegers
    }

    /// Parses one JSON text filling `bytes`.
    static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int = JSONValue.maximumNestingDepth,
        largeIntegers: JSONValue.LargeIntegerPolicy = .refuse
    ) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth, largeIntegers: largeIntegers)
        return try parser.parseDocument()
    }

    private mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { index = 3 }
        skipWhitespace()
        guard index < bytes.count else {
            throw JSONSyntaxError(reason: "the text is empty: expected a JSON value", offset: index)
        }
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard index == bytes.count else {
            throw JSONSyntaxError(
                reason: "unexpected \(Self.describe(bytes[index])) after the JSON value", offset: index)
        }
        return value
    }

    // MARK: Values

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw endOfText(expecting: "a value") }
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case let byte:
            throw JSONSyntaxError(
                reason: "expected a value (string, number, object, array, true, false or null), found "
                    + Self.describe(byte), offset: index)
        }
    }

    private func checkDepth(_ depth: Int) throws(JSONSyntaxError) {
        guard depth <= maximumDepth else {
            throw JSONSyntaxError(reason: "nesting deeper than \(maximumDepth) levels", offset: index)
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try checkDepth(depth)
        index += 1  // {
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            guard index < bytes.count else { throw endOfText(expecting: "a string key in object") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw JSONSyntaxError(
                    reason: "expected a string key in object, found \(Self.describe(bytes[index]))", offset: index)
            }
            let keyOffset = index
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count else { throw endOfText(expecting: "':' after key") }
            guard bytes[index] == UInt8(ascii: ":") else {
                throw JSONSyntaxError(
                    reason: "expected ':' after key \(Self.quote(key)) in object, found \(Self.describe(bytes[index]))",
                    offset: index)
            }
            index += 1
            skipWhitespace()
            let value: JSONValue
            do throws(JSONSyntaxError) {
                value = try parseValue(depth: depth)
            } catch {
                var error = error
                error.reversedPath.append(.key(key))
                throw error
            }
            if members.updateValue(value, forKey: key) != nil {
                throw JSONSyntaxError(reason: "duplicate key \(Self.quote(key)) in object", offset: keyOffset)
            }
            if try closesAfterItem(UInt8(ascii: "}"), in: "object", after: "member \(Self.quote(key))") {
                return .object(members)
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try checkDepth(depth)
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            do throws(JSONSyntaxError) {
                elements.append(try parseValue(depth: depth))
            } catch {
                var error = error
                error.reversedPath.append(.index(elements.count))
                throw error
            }
            if try closesAfterItem(UInt8(ascii: "]"), in: "array", after: "element \(elements.count - 1)") {
                return .array(elements)
            }
        }
    }

    /// After an object member or an array element: consumes the `,` that goes on to the next one (and the
    /// whitespace after it) and returns false, or consumes `closing` and returns true.
    private mutating func closesAfterItem(
        _ closing: UInt8, in container: String, after item: @autoclosure () -> String
    ) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else {
            throw endOfText(expecting: "',' or '\(Character(Unicode.Scalar(closing)))' in \(container)")
        }
        switch bytes[index] {
        case UInt8(ascii: ","):
            index += 1
            skipWhitespace()
            return false
        case closing:
            index += 1
            return true
        case let byte:
            throw JSONSyntaxError(
                reason: "expected ',' or '\(Character(Unicode.Scalar(closing)))' after \(item()) in \(container), "
                    + "found " + Self.describe(byte), offset: index)
        }
    }

    private mutating func parseLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let start = index
        let count = literal.utf8CodeUnitCount
        let matches =
            bytes.count - index >= count
            && literal.withUTF8Buffer { expected in
                (0..<count).allSatisfy { bytes[start + $0] == expected[$0] }
            }
        guard matches else {
            throw JSONSyntaxError(reason: "invalid literal: expected '\(literal)'", offset: start)
        }
        index += count
    }

    // MARK: Numbers

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while index < bytes.count && Self.isDigit(bytes[index]) { index += 1 }
    }

    private mutating func requireDigit(after what: String, start: Int) throws(JSONSyntaxError) {
        guard index < bytes.count, Self.isDigit(bytes[index]) else {
            let found = index < bytes.count ? Self.describe(bytes[index]) : "the end of the text"
            throw JSONSyntaxError(
                reason: "invalid number \(numberText(start, index)): expected a digit \(what), found \(found)",
                offset: index)
        }
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        try requireDigit(after: negative ? "after '-'" : "", start: start)
        let integerStart = index
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count && Self.isDigit(bytes[index]) {
                throw JSONSyntaxError(
                    reason: "invalid number: a leading zero is not allowed (\(numberText(start, index + 1))…)",
                    offset: start)
            }
        } else {
            skipDigits()
        }
        let integerEnd = index
        var isInteger = true
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            try requireDigit(after: "after '.'", start: start)
            skipDigits()
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            try requireDigit(after: "in the exponent", start: start)
            skipDigits()
        }
        if isInteger {
            // Accumulate negatively, so that Int64.min fits.
            var value: Int64 = 0
            var overflow = false
            for position in integerStart..<integerEnd {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.subtractingReportingOverflow(Int64(bytes[position] &- UInt8(ascii: "0")))
                value = next
                if o1 || o2 {
                    overflow = true
                    break
                }
            }
            if !negative {
                if value == .min { overflow = true } else { value = -value }
            }
            if !overflow { return .int(value) }
            guard largeIntegers == .nearestDouble else {
                throw JSONSyntaxError(
                    reason: "integer \(numberText(start, index))", consequence: " is outside the 64-bit range",
                    offset: start)
            }
            // Read below as the nearest double.
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONSyntaxError(
                reason: "number \(numberText(start, index))", consequence: " is out of range", offset: start)
        }
        return .double(value)
    }

    /// The number's text for messages, cut after 40 characters.
    private func numberText(_ start: Int, _ end: Int) -> String {
        let shownEnd = min(end, start + 40)
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<shownEnd]), as: UTF8.self)
        return shownEnd < end ? text + "…" : text
    }

    // MARK: Strings

    /// Parses a string; `index` is at its opening quote.
    private mutating func parseString() throws(JSONSyntaxError) -> String {
        let quoteOffset = index
        index += 1
        let start = index
        // Fast path: no escapes. UTF-8 is validated here, so decoding never repairs anything.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let string = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return string
            } else if byte == UInt8(ascii: "\\") {
                break
            } else if byte < 0x20 {
                throw controlCharacter(byte)
            } else if byte < 0x80 {
                index += 1
            } else {
                index += try validateUTF8Sequence()
            }
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(index - start + 16)
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            } else if byte == UInt8(ascii: "\\") {
                try parseEscape(into: &buffer)
            } else if byte < 0x20 {
                throw controlCharacter(byte)
            } else if byte < 0x80 {
                buffer.append(byte)
                index += 1
            } else {
                let length = try validateUTF8Sequence()
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<index + length]))
                index += length
            }
        }
        throw JSONSyntaxError(reason: "unterminated string (it starts at byte offset \(quoteOffset))", offset: index)
    }

    private func controlCharacter(_ byte: UInt8) -> JSONSyntaxError {
        JSONSyntaxError(
            reason: "unescaped control character \(Self.codePoint(UInt32(byte))) in string",
            consequence: " (write it as \\u\(Self.hex4(UInt32(byte))))", offset: index)
    }

    /// Parses the escape at `index` (a backslash) and appends what it stands for.
    private mutating func parseEscape(into buffer: inout [UInt8]) throws(JSONSyntaxError) {
        let escapeOffset = index
        index += 1
        guard index < bytes.count else { throw endOfText(expecting: "an escape in string") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(byte)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHex4(escapeOffset: escapeOffset)
            var scalarValue = unit
            if unit >= 0xD800 && unit <= 0xDBFF {
                let lowOffset = index
                guard
                    bytes.count - index >= 2 && bytes[index] == UInt8(ascii: "\\")
                        && bytes[index + 1] == UInt8(ascii: "u")
                else { throw loneSurrogate(unit, escapeOffset) }
                index += 2
                let low = try parseHex4(escapeOffset: lowOffset)
                guard low >= 0xDC00 && low <= 0xDFFF else { throw loneSurrogate(unit, escapeOffset) }
                scalarValue = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            } else if unit >= 0xDC00 && unit <= 0xDFFF {
                throw loneSurrogate(unit, escapeOffset)
            }
            // Not a surrogate, or a valid pair: always a scalar.
            let scalar = Unicode.Scalar(scalarValue) ?? "\u{FFFD}"
            UTF8.encode(scalar) { buffer.append($0) }
        default:
            throw JSONSyntaxError(
                reason: "invalid escape '\\\(Self.printable(byte))' in string",
                consequence: " (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", offset: escapeOffset)
        }
    }

    private func loneSurrogate(_ unit: UInt32, _ offset: Int) -> JSONSyntaxError {
        JSONSyntaxError(
            reason: "lone surrogate \\u\(Self.hex4(unit)) in string",
            consequence: " (a \\uD800-\\uDBFF escape must be followed by a \\uDC00-\\uDFFF one)", offset: offset)
    }

    private mutating func parseHex4(escapeOffset: Int) throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count - index >= 4 else {
            throw JSONSyntaxError(reason: "incomplete \\u escape in string", offset: escapeOffset)
        }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw JSONSyntaxError(
                    reason: "invalid \\u escape in string: \(Self.describe(byte)) is not a hexadecimal digit",
                    offset: index)
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Validates the multi-byte UTF-8 sequence at `index` (Unicode table 3-7) and returns its length.
    private func validateUTF8Sequence() throws(JSONSyntaxError) -> Int {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw invalidUTF8(at: index)
        }
        for position in 1..<length {
            guard index + position < bytes.count else { throw invalidUTF8(at: index) }
            let byte = bytes[index + position]
            guard byte >= low && byte <= high else { throw invalidUTF8(at: index) }
            low = 0x80
            high = 0xBF
        }
        return length
    }

    private func invalidUTF8(at offset: Int) -> JSONSyntaxError {
        let end = min(bytes.count, offset + 4)
        let shown = bytes[offset..<end].map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
        return JSONSyntaxError(reason: "invalid UTF-8 (bytes \(shown)) in string", offset: offset)
    }

    // MARK: Helpers

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private func endOfText(expecting what: String) -> JSONSyntaxError {
        JSONSyntaxError(reason: "unexpected end of the text (expected \(what))", offset: index)
    }

    /// A byte for messages: `'x'` when printable ASCII, `byte 0xFF` otherwise.
    private static func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F
            ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    private static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(Character(Unicode.Scalar(byte))) : "\\u" + hex4(UInt32(byte))
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func codePoint(_ value: UInt32) -> String {
        "U+" + String(repeating: "0", count: max(0, 4 - String(value, radix: 16).count))
            + String(value, radix: 16, uppercase: true)
    }

    /// A key for messages, quoted, escaped and cut after 40 characters.
    static func quote(_ key: String) -> String {
        let shown = key.count > JSONPath.longestKeyShown ? String(key.prefix(JSONPath.longestKeyShown)) + "…" : key
        var escaped = ""
        JSONValue.writeString(shown, to: &escaped)
        return "'" + escaped.dropFirst().dropLast() + "'"
    }
}
