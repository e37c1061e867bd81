// Stands in for Sources/BatchFiles/Checksums/ChecksumAlgorithm.swift in the fuzz build, which leaves out
// swift-crypto: the same declarations, hashing nothing. The fuzzed readers are never given a checksum to verify.
import Batch

/// A checksum algorithm (names only in the fuzz build).
public struct ChecksumAlgorithm: Sendable, Hashable, CustomStringConvertible {
    enum Base: String, Sendable, Hashable {
        case md5, sha256
    }

    let base: Base

    /// MD5.
    public static let md5 = ChecksumAlgorithm(base: .md5)
    /// SHA-256.
    public static let sha256 = ChecksumAlgorithm(base: .sha256)

    /// The checksum file's extension.
    public var fileExtension: String { base.rawValue }

    /// The algorithm's name.
    public var description: String { base == .md5 ? "MD5" : "SHA-256" }

    var hexLength: Int { base == .md5 ? 32 : 64 }

    func makeHasher() -> ChecksumHasher { ChecksumHasher() }
}

/// Hashes nothing: the fuzz build verifies and writes no checksums.
struct ChecksumHasher {
    mutating func update(_ bytes: UnsafeRawBufferPointer) {}

    func finalize() -> String { "" }
}
