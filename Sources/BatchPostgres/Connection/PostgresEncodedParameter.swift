/// A statement parameter ready for `PQexecParams`: its type OID, its format and its bytes.
struct PostgresEncodedParameter: Sendable {
    /// The parameter's type; 0 lets the server infer it.
    var typeOID: UInt32
    /// Whether ``bytes`` is in the type's binary format (otherwise text, NUL-terminated).
    var isBinary: Bool
    /// The value; text values end with a NUL byte.
    var bytes: [UInt8]

    /// A text-format parameter.
    static func text(_ text: String, typeOID: UInt32) -> PostgresEncodedParameter {
        var bytes = Array(text.utf8)
        bytes.append(0)
        return PostgresEncodedParameter(typeOID: typeOID, isBinary: false, bytes: bytes)
    }

    /// A binary-format parameter.
    static func binary(_ bytes: [UInt8], typeOID: UInt32) -> PostgresEncodedParameter {
        PostgresEncodedParameter(typeOID: typeOID, isBinary: true, bytes: bytes)
    }
}
