import Batch

/// A checksum written beside a file, in the format of `md5sum` and `sha256sum` (`<hex>  <file name>`), in a file
/// named after it: `orders.csv` → `orders.csv.md5` or `orders.csv.sha256`.
public struct ChecksumAlgorithm: Sendable, Hashable, CustomStringConvertible {
    enum Base: String, Sendable, Hashable {
        case md5, sha256
    }

    let base: Base

    /// MD5, as GoBatch writes: detects accidental damage, not tampering.
    public static let md5 = ChecksumAlgorithm(base: .md5)
    /// SHA-256.
    public static let sha256 = ChecksumAlgorithm(base: .sha256)

    /// The extension of the checksum file, without the dot: `md5` or `sha256`.
    public var fileExtension: String { base.rawValue }

    /// The algorithm's name.
    public var description: String { base == .md5 ? "MD5" : "SHA-256" }

    /// The length of a digest in hexadecimal digits.
    var hexLength: Int { base == .md5 ? 32 : 64 }
}
