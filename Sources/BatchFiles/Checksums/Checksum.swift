import Batch

/// Computes, writes and verifies checksum files in the `md5sum` / `sha256sum` format: one line
/// `<lowercase hex digest>  <file name>`, in a file beside the data named `<file>.md5` or `<file>.sha256`.
///
/// ```swift
/// try Checksum.write(for: "/data/out/orders.csv", .sha256)   // writes /data/out/orders.csv.sha256
/// try Checksum.verify("/data/out/orders.csv", .sha256)       // throws checksumMismatch if it changed
/// ```
/// The files can be checked with `sha256sum -c orders.csv.sha256` in the same directory, and files made by
/// `sha256sum orders.csv > orders.csv.sha256` verify here.
public enum Checksum {
    /// The path of the checksum file for `path`: `path` + `.md5` or `.sha256`.
    public static func path(for path: String, _ algorithm: ChecksumAlgorithm) -> String {
        path + "." + algorithm.fileExtension
    }

    /// The digest of the file at `path`, in lowercase hexadecimal.
    /// - Throws: ``BatchError/Code/fileFailure`` when the file cannot be read.
    public static func compute(of path: String, _ algorithm: ChecksumAlgorithm) throws -> String {
        try digest(algorithm) { try FileSystem.forEachBlock(of: path, action: "read for its checksum", $0) }
    }

    /// The digest of the bytes `blocks` feeds, in lowercase hexadecimal.
    static func digest(
        _ algorithm: ChecksumAlgorithm, blocks: ((UnsafeRawBufferPointer) -> Void) throws -> Void
    ) throws -> String {
        var hasher = algorithm.makeHasher()
        try blocks { hasher.update($0) }
        return hasher.finalize()
    }

    /// Computes the digest of `path` and writes it to the checksum file beside it (atomically, replacing one
    /// that is there).
    /// - Parameters:
    ///   - path: the data file.
    ///   - algorithm: MD5 or SHA-256.
    ///   - name: the file name written into the checksum line; by default the last component of `path`.
    /// - Returns: the digest.
    /// - Throws: ``BatchError/Code/fileFailure`` when a file cannot be read or written.
    @discardableResult
    public static func write(for path: String, _ algorithm: ChecksumAlgorithm, name: String? = nil) throws -> String {
        let digest = try compute(of: path, algorithm)
        try write(digest, for: path, algorithm, name: name)
        return digest
    }

    /// Writes `digest` into the checksum file for `path`, naming `name` (by default `path`'s last component).
    static func write(_ digest: String, for path: String, _ algorithm: ChecksumAlgorithm, name: String? = nil) throws {
        let line = "\(digest)  \(name ?? lastComponent(path))\n"
        try FileSystem.writeAtomically(Array(line.utf8), to: Self.path(for: path, algorithm))
    }

    /// Checks the file at `path` against its checksum file.
    /// - Parameters:
    ///   - path: the data file.
    ///   - algorithm: MD5 or SHA-256.
    ///   - checksumPath: the checksum file; by default ``path(for:_:)``.
    /// - Throws: ``BatchError/Code/checksumMismatch`` when the digests differ; ``BatchError/Code/fileFailure``
    ///   when either file cannot be read or the checksum file holds no digest for the file.
    public static func verify(_ path: String, _ algorithm: ChecksumAlgorithm, checksumPath: String? = nil) throws {
        try verify(path, algorithm, checksumPath: checksumPath) {
            try FileSystem.forEachBlock(of: path, action: "read for its checksum", $0)
        }
    }

    /// ``verify(_:_:checksumPath:)`` of the bytes `blocks` feeds (a reader's open descriptor, so that what is
    /// verified is what is read, whatever happens to the path meanwhile).
    static func verify(
        _ path: String, _ algorithm: ChecksumAlgorithm, checksumPath: String?,
        blocks: ((UnsafeRawBufferPointer) -> Void) throws -> Void
    ) throws {
        let checksumPath = checksumPath ?? Self.path(for: path, algorithm)
        let expected = try expectedDigest(for: path, algorithm, in: checksumPath)
        let actual = try digest(algorithm, blocks: blocks)
        guard actual == expected else {
            throw BatchError(
                .checksumMismatch,
                "'\(path)' does not match its \(algorithm) checksum: '\(checksumPath)' says \(expected), the file's "
                    + "is \(actual); the file is damaged or was replaced, so nothing was read")
        }
    }

    /// The digest the checksum file gives for `path`: the line naming the file, or the only line.
    static func expectedDigest(
        for path: String, _ algorithm: ChecksumAlgorithm, in checksumPath: String
    ) throws
        -> String
    {
        let bytes = try FileSystem.readSmallFile(checksumPath, limit: 1 << 20, action: "read the checksum file")
        let text = String(decoding: bytes, as: UTF8.self)
        var entries: [(digest: String, name: String)] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.drop { $0 == " " || $0 == "\\" }
            let digest = trimmed.prefix { $0.isHexDigit }
            var name = trimmed.dropFirst(digest.count)
            guard digest.count == algorithm.hexLength, name.first == " " || name.isEmpty else { continue }
            name = name.dropFirst(name.hasPrefix("  ") || name.hasPrefix(" *") ? 2 : min(1, name.count))
            entries.append((digest.lowercased(), String(name)))
        }
        let fileName = lastComponent(path)
        if let entry = entries.first(where: { $0.name == fileName || $0.name == path }) { return entry.digest }
        if entries.count == 1 { return entries[0].digest }
        throw FileErrors.file(
            checksumPath,
            entries.isEmpty
                ? "holds no \(algorithm) digest (expected `<\(algorithm.hexLength) hex digits>  <file name>`)"
                : "holds no \(algorithm) digest for '\(fileName)'")
    }

    static func lastComponent(_ path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }
}
