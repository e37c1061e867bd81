import Batch
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One partition per file matching a glob pattern inside the data directory, so each file of a set (a day's
/// drops, say) is read by its own partition.
///
/// The pattern is relative to the data directory (``DataDirectory``, `BATCH_DATA_DIR`) and matched component by
/// component with shell rules (`*`, `?`, `[a-z]`; a leading `.` only matched by a literal dot; no `**`):
/// `incoming/*.csv`, `2026-11-??/orders-*.jsonl`. It may not be absolute or hold `..`, and a match that leads out of
/// the directory through a symbolic link is refused. Only regular files match. The partitions are the matches sorted
/// by name (byte order), named `<prefix>-<index>` (zero-padded, so they sort alike); each context holds the file's
/// name (``FilePartition``, no range: the whole file). The grid size is not used. No match is an error unless
/// `allowEmpty` (then no partitions: the step completes at once).
///
/// ```swift
/// PartitionStep("load-drops", partitions: 1, maxConcurrency: 4,
///               partitioner: FileSetPartitioner(pattern: "incoming/*.csv"),
///               step: ChunkStep("load-file", chunkSize: 500,
///                               reader: { context in
///                                   CSVReader<Order>(path: try await FilePartition(context).path(context))
///                               },
///                               writer: { _ in orderWriter }))
/// ```
public struct FileSetPartitioner: Partitioner {
    /// The prefix of the partitions' names.
    public let prefix: String
    /// Whether no match is allowed (no partitions) rather than an error.
    public let allowEmpty: Bool
    private let pattern: @Sendable (StepContext) async throws -> String

    /// Creates a partitioner over the files matching `pattern`.
    /// - Parameters:
    ///   - pattern: a glob relative to the data directory.
    ///   - allowEmpty: whether no match makes no partitions rather than an error.
    ///   - prefix: the prefix of the partitions' names (no `:`).
    public init(pattern: String, allowEmpty: Bool = false, prefix: String = "file") {
        self.init(allowEmpty: allowEmpty, prefix: prefix) { _ in pattern }
    }

    /// Creates a partitioner whose pattern is found when the step starts, typically from the job parameters.
    /// - Parameters:
    ///   - allowEmpty: whether no match makes no partitions rather than an error.
    ///   - prefix: the prefix of the partitions' names (no `:`).
    ///   - pattern: a glob relative to the data directory.
    public init(
        allowEmpty: Bool = false, prefix: String = "file",
        pattern: @escaping @Sendable (StepContext) async throws -> String
    ) {
        self.prefix = prefix
        self.allowEmpty = allowEmpty
        self.pattern = pattern
    }

    /// One partition per matching file.
    /// - Throws: ``BatchError/Code/invalidParameters`` for a pattern that may leave the data directory,
    ///   ``BatchError/Code/fileFailure`` when nothing matches (unless `allowEmpty`) or a directory cannot be listed.
    public func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        let pattern = try await pattern(context)
        let files = try Self.files(matching: pattern, in: try await context.dataDirectory)
        guard !files.isEmpty || allowEmpty else {
            throw BatchError(.fileFailure, "no file in the data directory matches '\(pattern.prefix(200))'")
        }
        var partitions: [String: ExecutionContext] = [:]
        for (index, file) in files.enumerated() {
            partitions[partitionName(prefix, index, of: files.count)] = FilePartition(name: file).context
        }
        return partitions
    }

    /// The names (relative to `directory`) of the regular files matching `pattern`, sorted by their bytes.
    /// - Throws: ``BatchError/Code/invalidParameters`` for a pattern that may leave the directory.
    public static func files(matching pattern: String, in directory: DataDirectory) throws -> [String] {
        func refuse(_ why: String) -> BatchError {
            BatchError(.invalidParameters, "file pattern '\(pattern.prefix(200))' is refused: \(why)")
        }
        guard !pattern.isEmpty, !pattern.contains("\0"), pattern.utf8.count <= 1024 else {
            throw refuse("it is empty, too long or holds a NUL character")
        }
        guard !pattern.hasPrefix("/") else { throw refuse("it is absolute; give it relative to the data directory") }
        let components = pattern.split(separator: "/").map(String.init).filter { $0 != "." }
        guard !components.contains("..") else { throw refuse("'..' may not leave the data directory") }
        guard !components.isEmpty else { throw refuse("it names no file") }
        var candidates = [""]
        for (index, component) in components.enumerated() {
            let isLast = index == components.count - 1
            var next: [String] = []
            for parent in candidates {
                let parentPath = parent.isEmpty ? directory.path : directory.path + "/" + parent
                let names: [String]
                if component.contains(where: { "*?[\\".contains($0) }) {
                    names = Self.list(parentPath).filter { fnmatch(component, $0, FNM_PERIOD) == 0 }
                } else {
                    names = [component]
                }
                for name in names {
                    let relative = parent.isEmpty ? name : parent + "/" + name
                    // Refuses a match that leads out of the directory through a symbolic link.
                    let resolved = try directory.resolve(relative)
                    var info = stat()
                    guard stat(resolved, &info) == 0 else { continue }
                    let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
                    let isRegular = (info.st_mode & S_IFMT) == S_IFREG
                    if isLast ? isRegular : isDirectory { next.append(relative) }
                }
            }
            candidates = next
        }
        return candidates.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The entries of a directory; none when it cannot be listed (it is not a directory, or is gone).
    private static func list(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }
}
