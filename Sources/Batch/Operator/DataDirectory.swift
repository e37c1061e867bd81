import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one directory a worker's jobs keep their files in, chosen by the worker's configuration (`BATCH_DATA_DIR`),
/// never by a message. A job parameter may at most name a file inside it, which ``resolve(_:)`` checks:
///
/// ```swift
/// let directory = try DataDirectory.fromEnvironment()
/// let path = try directory.resolve("transactions-\(date).csv")   // refused if it escapes the directory
/// ```
public struct DataDirectory: Sendable, Hashable {
    /// The directory's real path: absolute, symbolic links resolved.
    public let path: String

    /// The environment variable that names the data directory.
    public static let environmentVariable = "BATCH_DATA_DIR"

    /// Opens `path` as the data directory, creating it (and its parents) when missing.
    /// - Throws: ``BatchError/Code/fileFailure`` when it cannot be created or is not a directory.
    public init(path: String) throws {
        guard !path.isEmpty, !path.contains("\0") else {
            throw BatchError(.fileFailure, "the data directory path is empty or holds a NUL character")
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw BatchError(.fileFailure, "cannot create the data directory \(path): \(error)", underlying: error)
        }
        guard let real = Self.realPath(path) else {
            throw BatchError(.fileFailure, "cannot resolve the data directory \(path): \(Self.lastError)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BatchError(.fileFailure, "the data directory \(path) is not a directory")
        }
        self.path = real
    }

    /// The data directory of this process: `BATCH_DATA_DIR` when set and not empty, otherwise the system's
    /// temporary directory.
    /// - Throws: what ``init(path:)`` throws.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> DataDirectory {
        if let configured = environment[environmentVariable], !configured.isEmpty {
            return try DataDirectory(path: configured)
        }
        return try DataDirectory(path: FileManager.default.temporaryDirectory.path)
    }

    /// The path of the file `name` inside the directory.
    ///
    /// `name` is relative (it may hold subdirectories) and must stay inside: an absolute path, a `..` component,
    /// or a path that reaches outside through a symbolic link (a dangling one included) is refused. The file need
    /// not exist yet.
    /// - Returns: the absolute path, under ``path``.
    /// - Throws: ``BatchError/Code/invalidParameters`` naming what is wrong.
    public func resolve(_ name: String) throws -> String {
        func refuse(_ why: String) -> BatchError {
            BatchError(.invalidParameters, "file name '\(name.prefix(200))' is refused: \(why)")
        }
        guard !name.isEmpty else { throw refuse("it is empty") }
        guard !name.contains("\0") else { throw refuse("it holds a NUL character") }
        guard name.utf8.count <= 1024 else { throw refuse("it is longer than 1024 bytes") }
        guard !name.hasPrefix("/") else {
            throw refuse("it is an absolute path; name a file inside the data directory")
        }
        let all = name.split(separator: "/", omittingEmptySubsequences: true)
        guard !all.contains("..") else { throw refuse("'..' may not leave the data directory") }
        let components = all.filter { $0 != "." }
        guard !components.isEmpty else { throw refuse("it names no file") }
        let candidate = path + "/" + components.joined(separator: "/")
        // Resolve the longest part that exists (symbolic links included), then append the rest, which does not exist
        // and so cannot be a link.
        var existing = candidate
        var missing: [String] = []
        while true {
            if let real = Self.realPath(existing) {
                let resolved = ([real] + missing.reversed()).joined(separator: "/")
                guard resolved == path || resolved.hasPrefix(path == "/" ? "/" : path + "/") else {
                    throw refuse("it resolves to \(resolved), outside the data directory")
                }
                guard resolved != path else { throw refuse("it names the data directory itself") }
                return resolved
            }
            var status = stat()
            if lstat(existing, &status) == 0 {
                // It exists but does not resolve: a dangling or looping symbolic link, which could point anywhere.
                throw refuse("it passes through a symbolic link that does not resolve")
            }
            guard errno == ENOENT || errno == ENOTDIR, existing != path else {
                throw refuse("cannot resolve it: \(Self.lastError)")
            }
            let url = URL(fileURLWithPath: existing)
            missing.append(url.lastPathComponent)
            existing = url.deletingLastPathComponent().path
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static var lastError: String { String(cString: strerror(errno)) }
}
