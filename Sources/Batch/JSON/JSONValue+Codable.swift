import Foundation

extension JSONValue: Codable {
    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value as the JSON it stands for.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue {
    /// The canonical JSON text: no insignificant whitespace, object keys sorted by their UTF-8 bytes.
    ///
    /// Two equal values always have the same canonical text; the job instance key is derived from it.
    public var canonicalJSON: String {
        var output = ""
        writeCanonical(to: &output)
        return output
    }

    private func writeCanonical(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value):
            if value.isFinite {
                output += value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) + ".0" : "\(value)"
            } else {
                output += "null"  // JSON has no infinity or NaN
            }
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                value.writeCanonical(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { output += "," }
                Self.writeString(key, to: &output)
                output += ":"
                members[key]!.writeCanonical(to: &output)
            }
            output += "}"
        }
    }

    /// Appends `string` as a JSON string literal, escaping quotes, backslashes and control characters.
    static func writeString(_ string: String, to output: inout String) {
        output += "\""
        // Runs of characters that need no escape are appended whole: ASCII bytes are character boundaries in UTF-8,
        // so the string can be cut at each byte that needs one.
        let utf8 = string.utf8
        var runStart = utf8.startIndex
        var index = runStart
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                output += string[runStart..<index]
                output += escape(byte)
                runStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        output += string[runStart...]
        output += "\""
    }

    /// The JSON escape of an ASCII byte that needs one: `\"`, `\\`, `\n`, `\r`, `\t`, else `\u00xx`.
    private static func escape(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: "\""): "\\\""
        case UInt8(ascii: "\\"): "\\\\"
        case UInt8(ascii: "\n"): "\\n"
        case UInt8(ascii: "\r"): "\\r"
        case UInt8(ascii: "\t"): "\\t"
        default:
            "\\u" + String(repeating: "0", count: 4 - String(byte, radix: 16).count) + String(byte, radix: 16)
        }
    }
}

extension DecodingError {
    /// One line saying what is wrong and where, without Foundation's debug noise.
    var briefDescription: String {
        func path(_ context: Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "" : " at \(path)"
        }
        switch self {
        case .dataCorrupted(let context):
            let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return (detail ?? context.debugDescription) + path(context)
        case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)'" + path(context)
        case .typeMismatch(let type, let context): return "expected \(type)" + path(context)
        case .valueNotFound(let type, let context): return "missing \(type)" + path(context)
        @unknown default: return "\(self)"
        }
    }
}
