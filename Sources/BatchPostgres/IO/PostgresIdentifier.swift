/// Table and column names given to the Postgres readers and writers: configuration, never user data, checked and
/// double-quoted before they go into SQL.
enum PostgresIdentifier {
    /// `name` or `schema.name`, each part `[A-Za-z_][A-Za-z0-9_]*` (at most 63 bytes), quoted part by part.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration`` for anything else.
    static func quoted(_ name: String, what: String) throws -> String {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy(isPlain) else {
            throw PostgresError(
                .invalidConfiguration,
                "the \(what) name '\(name)' is not allowed: use letters, digits and underscores, starting with a "
                    + "letter or underscore, optionally qualified by a schema (schema.table)")
        }
        return parts.map { "\"\($0)\"" }.joined(separator: ".")
    }

    private static func isPlain(_ part: Substring) -> Bool {
        let bytes = Array(part.utf8)
        return !bytes.isEmpty && bytes.count <= 63
            && bytes.enumerated().allSatisfy { index, byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || byte == UInt8(ascii: "_")
                    || (index > 0 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            }
    }
}
