import Batch
import Foundation

/// A JSON object read field by field, each wrong or missing field reported by name.
///
/// Commands, replies and events are decoded with it so that an error says exactly what is wrong
/// (`invalid command: field 'executionId' must be an integer, found string`), which Foundation's `DecodingError`
/// does not.
struct StrictObject {
    let members: [String: JSONValue]
    /// `command`, `reply` or `event`, for messages.
    let kind: String

    init(body: some Collection<UInt8>, kind: String, limits: MessageLimits) throws {
        guard body.count <= limits.maximumBodySize else {
            throw AMQPError(
                .invalidMessage,
                "invalid \(kind): the body is \(body.count) bytes, over the limit of \(limits.maximumBodySize) bytes")
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: body)
        } catch let error as BatchError {
            throw AMQPError(.invalidMessage, "invalid \(kind): the body is not JSON: \(Self.strip(error.message))")
        }
        try self.init(value: value, kind: kind)
    }

    init(value: JSONValue, kind: String) throws {
        self.kind = kind
        guard case .object(let members) = value else {
            throw AMQPError(.invalidMessage, "invalid \(kind): expected a JSON object, found \(value.typeName)")
        }
        self.members = members
    }

    static func strip(_ message: String) -> String {
        message.hasPrefix("invalid JSON: ") ? String(message.dropFirst("invalid JSON: ".count)) : message
    }

    func error(_ text: String) -> AMQPError {
        AMQPError(.invalidMessage, "invalid \(kind): \(text)")
    }

    func has(_ key: String) -> Bool { members[key] != nil }

    func rejectUnknownFields(allowed: Set<String>) throws {
        let unknown = members.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            let list = unknown.map { "'\($0)'" }.joined(separator: ", ")
            throw error(
                "unknown field\(unknown.count > 1 ? "s" : "") \(list); expected "
                    + allowed.sorted().map { "'\($0)'" }.joined(separator: ", "))
        }
    }

    private func wrongType(_ key: String, expected: String, found: JSONValue) -> AMQPError {
        error("field '\(key)' must be \(expected), found \(found.typeName)")
    }

    func string(_ key: String) throws -> String {
        guard let value = members[key] else { throw error("missing field '\(key)'") }
        guard case .string(let string) = value else { throw wrongType(key, expected: "a string", found: value) }
        return string
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = members[key], value != .null else { return nil }
        guard case .string(let string) = value else {
            throw wrongType(key, expected: "a string or null", found: value)
        }
        return string
    }

    func nonEmptyString(_ key: String) throws -> String {
        let string = try string(key)
        guard !string.isEmpty else { throw error("field '\(key)' must not be empty") }
        return string
    }

    func int(_ key: String) throws -> Int64 {
        guard let value = members[key] else { throw error("missing field '\(key)'") }
        guard case .int(let int) = value else { throw wrongType(key, expected: "an integer", found: value) }
        return int
    }

    func optionalInt(_ key: String) throws -> Int64? {
        guard let value = members[key], value != .null else { return nil }
        guard case .int(let int) = value else { throw wrongType(key, expected: "an integer or null", found: value) }
        return int
    }

    /// An id: an integer of at least 1.
    func id(_ key: String) throws -> Int64 {
        let id = try int(key)
        guard id > 0 else { throw error("field '\(key)' must be a positive integer, found \(id)") }
        return id
    }

    /// An id or null.
    func optionalID(_ key: String) throws -> Int64? {
        guard let id = try optionalInt(key) else { return nil }
        guard id > 0 else { throw error("field '\(key)' must be a positive integer or null, found \(id)") }
        return id
    }

    func bool(_ key: String) throws -> Bool {
        guard let value = members[key] else { throw error("missing field '\(key)'") }
        guard case .bool(let bool) = value else { throw wrongType(key, expected: "true or false", found: value) }
        return bool
    }
}

extension DecodingError {
    /// A `dataCorrupted` error carrying an ``AMQPError``'s message, for the `Codable` conformances.
    static func invalid(_ error: AMQPError, in decoder: any Decoder) -> DecodingError {
        .dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message, underlyingError: error))
    }
}
