import Batch

/// A tasklet that writes or verifies the checksum file of a file, for a step of its own:
///
/// ```swift
/// Job("export") {
///     ChunkStep("write-orders", chunkSize: 1_000, reader: ..., writer: { _ in CSVWriter<Order>(path: out) })
///     Step("checksum", tasklet: ChecksumTasklet(path: out, algorithm: .sha256))   // out.sha256
/// }
/// ```
/// Writing is idempotent, so a restarted step simply writes the file again. The file writers can also write the
/// checksum themselves (``FileWriterConfiguration/checksums``), and the readers verify one before reading
/// (``FileReaderConfiguration/checksum``).
public struct ChecksumTasklet: Tasklet {
    /// What the tasklet does with the checksum file.
    public struct Mode: Sendable, Hashable {
        let verifies: Bool
        /// Computes the digest and writes the checksum file.
        public static let write = Mode(verifies: false)
        /// Checks the file against its checksum file, failing the step on a mismatch.
        public static let verify = Mode(verifies: true)
    }

    private let path: @Sendable (StepContext) throws -> String
    private let algorithm: ChecksumAlgorithm
    private let mode: Mode

    /// Creates a tasklet for the file at `path`.
    /// - Parameters:
    ///   - path: the data file.
    ///   - algorithm: MD5 or SHA-256.
    ///   - mode: write the checksum file (the default) or verify the file against it.
    public init(path: String, algorithm: ChecksumAlgorithm = .sha256, mode: Mode = .write) {
        self.init(algorithm: algorithm, mode: mode) { _ in path }
    }

    /// Creates a tasklet for a file known when the step runs: `ChecksumTasklet { _ in outputPath }`. A path taken
    /// from a job parameter (which a message chooses) should be resolved inside the data directory first
    /// (``DataDirectory/resolve(_:)``), as the file readers' examples do.
    /// - Parameters:
    ///   - algorithm: MD5 or SHA-256.
    ///   - mode: write the checksum file (the default) or verify the file against it.
    ///   - path: gives the data file's path.
    public init(
        algorithm: ChecksumAlgorithm = .sha256, mode: Mode = .write,
        path: @escaping @Sendable (StepContext) throws -> String
    ) {
        self.path = path
        self.algorithm = algorithm
        self.mode = mode
    }

    /// Writes or verifies the checksum file.
    /// - Throws: ``BatchError/Code/checksumMismatch`` when verifying a file that changed;
    ///   ``BatchError/Code/fileFailure`` when a file cannot be read or written.
    public func execute(_ context: StepContext) async throws {
        let path = try self.path(context)
        if mode.verifies {
            try Checksum.verify(path, algorithm)
        } else {
            let digest = try Checksum.write(for: path, algorithm)
            context.logger.info(
                "checksum written", metadata: ["file": "\(path)", "algorithm": "\(algorithm)", "digest": "\(digest)"])
        }
    }
}
