import Batch

/// The character encoding of a delimited text file. JSON Lines files are always UTF-8 (RFC 8259).
///
/// Both encodings keep the ASCII delimiters, quotes and line breaks as single bytes, which is what lets the
/// readers parse bytes and keep exact byte offsets for restart.
public struct TextEncoding: Sendable, Hashable, CustomStringConvertible {
    enum Base: String, Sendable, Hashable {
        case utf8 = "UTF-8"
        case isoLatin1 = "ISO-8859-1"
    }

    let base: Base

    /// UTF-8, the default. Invalid UTF-8 in a field is refused with an error naming the file, line and field; a
    /// byte order mark at the start of the file is skipped.
    public static let utf8 = TextEncoding(base: .utf8)
    /// ISO-8859-1 (Latin-1): every byte is a character. Writing a character outside it is an error.
    public static let isoLatin1 = TextEncoding(base: .isoLatin1)

    /// The encoding's name.
    public var description: String { base.rawValue }

    /// The text of `bytes`, or nil when they are not valid in this encoding.
    func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        // ASCII needs no validation and reads the same in both encodings, and most fields are ASCII.
        var ascii = true
        for byte in bytes where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        if isUTF8 { return String(validating: bytes, as: UTF8.self) }
        // Latin-1: each byte is the code point of the same value; those from 0x80 take two bytes in UTF-8.
        return String(unsafeUninitializedCapacity: bytes.count * 2) { utf8 in
            var count = 0
            for byte in bytes {
                if byte < 0x80 {
                    utf8[count] = byte
                    count += 1
                } else {
                    utf8[count] = 0xC0 | byte >> 6
                    utf8[count + 1] = 0x80 | byte & 0x3F
                    count += 2
                }
            }
            return count
        }
    }

    /// Appends the bytes of `text` to `output`; false when a character has no representation in this encoding.
    func encode(_ text: String, into output: inout [UInt8]) -> Bool {
        if isUTF8 {
            output.append(contentsOf: text.utf8)
            return true
        }
        for scalar in text.unicodeScalars {
            guard scalar.value < 256 else { return false }
            output.append(UInt8(scalar.value))
        }
        return true
    }

    var isUTF8: Bool { base == .utf8 }
}
