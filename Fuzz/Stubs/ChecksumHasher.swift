// Stands in for Sources/BatchFiles/Checksums/ChecksumHasher.swift in the fuzz build, which leaves out swift-crypto:
// the fuzzed readers are never given a checksum to verify, so the hasher hashes nothing.

extension ChecksumAlgorithm {
    func makeHasher() -> ChecksumHasher { ChecksumHasher() }
}

/// Hashes nothing: the fuzz build verifies and writes no checksums.
struct ChecksumHasher {
    mutating func update(_ bytes: UnsafeRawBufferPointer) {}

    func finalize() -> String { "" }
}
