/// One step into a JSON document: an object member or an array element.
enum JSONPathComponent: Sendable, Hashable {
    /// The member of an object with this key.
    case key(String)
    /// The element of an array at this position (from 0).
    case index(Int)
}

/// Where a value sits in a JSON document, written for error messages: `params.items[3]`, `a["odd key"]`.
enum JSONPath {
    /// The longest key shown in full; longer ones are cut and end with `…`.
    static let longestKeyShown = 40
    /// The most components shown; longer paths show their first and last components around `…`.
    static let mostComponentsShown = 12

    /// The path as text, empty for the top level.
    static func describe(_ components: [JSONPathComponent]) -> String {
        guard components.count > mostComponentsShown else { return describe(components[...], first: true) }
        let head = mostComponentsShown / 2 - 1
        let tail = mostComponentsShown - head
        return describe(components.prefix(head), first: true) + "…"
            + describe(components.suffix(tail), first: true)
    }

    private static func describe(_ components: ArraySlice<JSONPathComponent>, first: Bool) -> String {
        var output = ""
        var isFirst = first
        for component in components {
            switch component {
            case .index(let index):
                output += "[\(index)]"
            case .key(let key):
                let shown = key.count > longestKeyShown ? String(key.prefix(longestKeyShown)) + "…" : key
                if isPlain(shown) {
                    output += isFirst ? shown : "." + shown
                } else {
                    output += "["
                    JSONValue.writeString(shown, to: &output)
                    output += "]"
                }
            }
            isFirst = false
        }
        return output
    }

    /// Whether a key reads unambiguously without quotes: letters, digits, `_` and `-` only.
    private static func isPlain(_ key: String) -> Bool {
        !key.isEmpty
            && key.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x5F || byte == 0x2D
            }
    }

    /// `at <path>`, or `at the top level` for the empty path.
    static func location(_ components: [JSONPathComponent]) -> String {
        components.isEmpty ? "at the top level" : "at " + describe(components)
    }
}
