import Batch
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The temporary file a writer appends to, and its move into place. Owns the descriptor (closed in `deinit`).
///
/// - Fresh: creates (or empties) `<path><suffix>`.
/// - Resume: opens the temporary file the last run left and truncates it to the length the last committed chunk
///   saved, dropping whatever an uncommitted chunk wrote.
/// - Each ``append(_:)`` writes one chunk (as one gzip member when compressing), all or nothing: a failed write is
///   truncated away.
/// - ``finish()`` syncs and closes the file, writes the checksum files, and renames it to `path`.
final class FileOutput {
    /// The finished file's path.
    let path: String
    /// The path written until the step completes.
    let temporaryPath: String
    /// The temporary file's length: everything appended so far.
    private(set) var length: Int64 = 0

    private let configuration: FileWriterConfiguration
    private var fd: Int32 = -1
    private var deflater: GzipDeflater?

    init(path: String, configuration: FileWriterConfiguration) throws {
        try configuration.validate(path)
        self.path = path
        self.temporaryPath = path + configuration.temporarySuffix
        self.configuration = configuration
    }

    deinit {
        if fd >= 0 { _ = close(fd) }
    }

    /// Opens the temporary file: fresh when `offset` is nil, else resuming at `offset`.
    func open(resumingAt offset: Int64?) throws {
        if let offset {
            // The last run renamed the file into place and then failed before its step's end was stored (a listener,
            // a lost database): the finished file is the temporary one with its ending; resume from it.
            if !FileSystem.exists(temporaryPath), let size = FileSystem.size(of: path), size >= offset {
                try FileSystem.rename(path, to: temporaryPath)
            }
            guard FileSystem.exists(temporaryPath) else {
                throw FileErrors.file(
                    temporaryPath,
                    "cannot resume writing: the last run's temporary file is gone (its committed chunks held "
                        + "\(offset) bytes); restore it, or abandon this execution and start a new instance")
            }
            fd = try FileSystem.open(temporaryPath, O_WRONLY, action: "open")
            let size = try FileSystem.size(fd, path: temporaryPath)
            guard size >= offset else {
                throw FileErrors.file(
                    temporaryPath,
                    "cannot resume writing: the file has \(size) bytes, fewer than the \(offset) its committed "
                        + "chunks wrote; it was changed outside the job")
            }
            try truncate(to: offset)
        } else {
            if !configuration.replacesExistingFile, FileSystem.exists(path) {
                throw FileErrors.file(
                    path,
                    "already exists and the writer may not replace it (FileWriterConfiguration.replacesExistingFile)"
                )
            }
            fd = try FileSystem.open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, action: "create")
            length = 0
        }
        if configuration.compression.isGzip(path) {
            deflater = try GzipDeflater(level: configuration.compressionLevel)
        }
    }

    /// Appends one chunk's bytes (compressed into one gzip member when the output is gzip). On failure the file is
    /// truncated back to where it was.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        var written: Int64 = 0
        do {
            if let deflater {
                try deflater.compressMember(bytes) { compressed in
                    try FileSystem.write(fd, compressed, path: temporaryPath)
                    written += Int64(compressed.count)
                }
            } else {
                try FileSystem.write(fd, bytes, path: temporaryPath)
                written = Int64(bytes.count)
            }
            if configuration.syncEachChunk { try FileSystem.sync(fd, path: temporaryPath) }
        } catch {
            try? truncate(to: length)
            throw error
        }
        length += written
    }

    /// Cuts the file back to `offset` bytes and goes on writing there.
    func truncate(to offset: Int64) throws {
        guard ftruncate(fd, off_t(offset)) == 0 else { throw FileErrors.system("truncate", temporaryPath) }
        guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
            throw FileErrors.system("seek in", temporaryPath)
        }
        length = offset
    }

    /// Syncs and closes the file, writes its checksum files beside `path`, and renames it to `path`.
    func finish() throws {
        try FileSystem.sync(fd, path: temporaryPath)
        _ = close(fd)
        fd = -1
        for algorithm in configuration.checksums {
            let digest = try Checksum.compute(of: temporaryPath, algorithm)
            try Checksum.write(digest, for: path, algorithm)
        }
        try FileSystem.rename(temporaryPath, to: path)
        FileSystem.syncDirectory(of: path)
    }

    /// Closes the file and leaves it under its temporary name, for a restart.
    func closeTemporaryFile() {
        if fd >= 0 { _ = close(fd) }
        fd = -1
    }
}
