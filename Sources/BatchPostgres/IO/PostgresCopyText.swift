/// Builds COPY text-format input: columns separated by tabs, rows by newlines, `\N` for NULL, and backslash,
/// tab, newline and carriage return escaped.
public struct PostgresCopyText: Sendable {
    /// The bytes built so far.
    public private(set) var bytes: [UInt8] = []
    private var columnInRow = 0

    /// Creates an empty buffer with room for `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends the next column of the current row.
    ///
    /// - Parameters:
    ///   - value: the value; nil is NULL.
    ///   - position: the column's 1-based position, for error messages.
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidParameter`` for text holding NUL.
    public mutating func append(_ value: PostgresValue?, position: Int) throws {
        if columnInRow > 0 { bytes.append(UInt8(ascii: "\t")) }
        columnInRow += 1
        guard let value else {
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "N"))
            return
        }
        switch value {
        case .int(let number):
            appendInteger(number)
        default:
            var text = try value.textEncoding(position: position)
            text.withUTF8 { utf8 in
                for byte in utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
                    case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
                    case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
                    default: bytes.append(byte)
                    }
                }
            }
        }
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(UInt8(ascii: "\n"))
        columnInRow = 0
    }

    private mutating func appendInteger(_ number: Int64) {
        if number == .min {
            bytes.append(contentsOf: String(number).utf8)
            return
        }
        var value = number
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            value = -value
        }
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
            value /= 10
        } while value > 0
        bytes[start...].reverse()
    }
}
