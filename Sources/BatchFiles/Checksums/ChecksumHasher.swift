import Crypto

extension ChecksumAlgorithm {
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
