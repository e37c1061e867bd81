import Batch
import Crypto

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

    /// A hash function of this algorithm, fed in pieces.
    func makeHasher() -> ChecksumHasher {
        base == .md5 ? .md5(Insecure.MD5()) : .sha256(SHA256())
    }
}

/// An MD5 or SHA-256 hash in progress.
enum ChecksumHasher {
    case md5(Insecure.MD5)
    case sha256(SHA256)

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .md5(var hasher):
            hasher.update(bufferPointer: bytes)
            self = .md5(hasher)
        case .sha256(var hasher):
            hasher.update(bufferPointer: bytes)
            self = .sha256(hasher)
        }
    }

    /// The digest in lowercase hexadecimal.
    func finalize() -> String {
        switch self {
        case .md5(let hasher): hexadecimal(hasher.finalize())
        case .sha256(let hasher): hexadecimal(hasher.finalize())
        }
    }

    private func hexadecimal(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
