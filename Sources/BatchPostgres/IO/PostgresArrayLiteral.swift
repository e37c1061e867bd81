/// Builds the text form of a PostgreSQL array (`{"a","b",NULL}`) from values, so a whole column of a chunk travels
/// as one parameter.
struct PostgresArrayLiteral {
    private var text = "{"
    private var isEmpty = true

    init(capacity: Int) {
        text.reserveCapacity(capacity)
    }

    /// Appends an element: NULL, or the value's text form quoted and escaped.
    mutating func append(_ value: PostgresValue?, position: Int) throws {
        if !isEmpty { text.append(",") }
        isEmpty = false
        guard let value else {
            text.append("NULL")
            return
        }
        let element = try value.textEncoding(position: position)
        text.append("\"")
        if element.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { text.append("\\") }
                text.unicodeScalars.append(character)
            }
        } else {
            text.append(element)
        }
        text.append("\"")
    }

    /// The finished literal.
    var literal: String { text + "}" }
}
