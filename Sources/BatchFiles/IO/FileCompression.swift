import Batch
/// Whether a file is read or written through gzip.
public struct FileCompression: Sendable, Hashable, CustomStringConvertible {
    enum Base: String, Sendable, Hashable {
        case automatic, none, gzip
    }

    let base: Base

    /// gzip when the path ends in `.gz`, otherwise none. The default.
    public static let automatic = FileCompression(base: .automatic)
    /// Plain bytes, whatever the extension.
    public static let none = FileCompression(base: .none)
    /// gzip (RFC 1952, through zlib), whatever the extension.
    public static let gzip = FileCompression(base: .gzip)

    /// The setting's name.
    public var description: String { base.rawValue }

    /// Whether `path` is read or written through gzip under this setting.
    func isGzip(_ path: String) -> Bool {
        switch base {
        case .automatic: path.hasSuffix(".gz")
        case .none: false
        case .gzip: true
        }
    }
}
