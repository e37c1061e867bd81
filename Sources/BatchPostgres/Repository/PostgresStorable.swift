import Batch

/// What PostgreSQL cannot hold, made storable: `text` and `jsonb` refuse U+0000, so an execution's exit code and
/// message and the strings of its context (keys and values) are stored with U+FFFD in its place. A tasklet that put
/// a NUL into its context, or an error whose description carries one, must not leave its execution unrecordable
/// (and so STARTED for good); the replacement is the one the skip recorder makes in skip reasons.
extension String {
    /// This text with every U+0000 replaced by U+FFFD (itself when it holds none).
    var storableInPostgres: String {
        utf8.contains(0) ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self
    }
}

extension JSONValue {
    /// This value with every U+0000 in its strings and keys replaced by U+FFFD (itself when it holds none). Two keys
    /// that become equal keep the first in key order.
    var storableInPostgres: JSONValue {
        guard containsNUL else { return self }
        switch self {
        case .string(let text):
            return .string(text.storableInPostgres)
        case .array(let elements):
            return .array(elements.map(\.storableInPostgres))
        case .object(let members):
            var stored: [String: JSONValue] = [:]
            for (key, value) in members.sorted(by: { $0.key < $1.key }) {
                let storedKey = key.storableInPostgres
                if stored[storedKey] == nil { stored[storedKey] = value.storableInPostgres }
            }
            return .object(stored)
        case .null, .bool, .int, .double:
            return self
        }
    }

    private var containsNUL: Bool {
        switch self {
        case .string(let text): text.utf8.contains(0)
        case .array(let elements): elements.contains { $0.containsNUL }
        case .object(let members): members.contains { $0.key.utf8.contains(0) || $0.value.containsNUL }
        case .null, .bool, .int, .double: false
        }
    }
}
