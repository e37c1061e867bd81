import Batch
import BatchTestKit
import Foundation
import Testing

/// A parameter may name a file inside the data directory, never one outside it.
@Suite("Data directory")
struct DataDirectoryTests {
    /// A fresh data directory and a sibling directory outside it, removed after `body`.
    func withDirectories(_ body: (DataDirectory, String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "datadir-" + UUID().uuidString.prefix(8)
        ).path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let outside = root + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try body(try DataDirectory(path: root + "/data"), outside)
    }

    func expectRefused(_ directory: DataDirectory, _ name: String, saying text: String) {
        let error = #expect(throws: BatchError.self) { try directory.resolve(name) }
        #expect(error?.code == .invalidParameters)
        #expect(error?.message.contains(text) == true, "\(error?.message ?? "")")
    }

    @Test("a plain name, or one in a subdirectory, resolves inside the directory")
    func normal() throws {
        try withDirectories { directory, _ throws in
            #expect(try directory.resolve("file.csv") == directory.path + "/file.csv")
            #expect(try directory.resolve("a/./b/file.csv") == directory.path + "/a/b/file.csv")
            #expect(try directory.resolve("./file.csv") == directory.path + "/file.csv")
        }
    }

    @Test("an absolute path is refused")
    func absolute() throws {
        try withDirectories { directory, outside throws in
            expectRefused(directory, "/etc/passwd", saying: "absolute")
            expectRefused(directory, outside + "/x", saying: "absolute")
            expectRefused(directory, directory.path + "/file.csv", saying: "absolute")
        }
    }

    @Test("a '..' component is refused, even one that would come back inside")
    func dotDot() throws {
        try withDirectories { directory, _ throws in
            expectRefused(directory, "../outside/x", saying: "'..'")
            expectRefused(directory, "a/../../x", saying: "'..'")
            expectRefused(directory, "a/../file.csv", saying: "'..'")
            expectRefused(directory, "..", saying: "'..'")
        }
    }

    @Test("empty names, NUL characters and the directory itself are refused")
    func empty() throws {
        try withDirectories { directory, _ throws in
            expectRefused(directory, "", saying: "empty")
            expectRefused(directory, ".", saying: "names no file")
            expectRefused(directory, "a\0b", saying: "NUL")
        }
    }

    @Test("a symbolic link to outside is refused, as file or as directory, dangling or not")
    func symlinkOut() throws {
        try withDirectories { directory, outside throws in
            try FileManager.default.createSymbolicLink(
                atPath: directory.path + "/escape", withDestinationPath: outside)
            try Data("x".utf8).write(to: URL(fileURLWithPath: outside + "/secret"))
            try FileManager.default.createSymbolicLink(
                atPath: directory.path + "/secret", withDestinationPath: outside + "/secret")
            try FileManager.default.createSymbolicLink(
                atPath: directory.path + "/dangling", withDestinationPath: outside + "/not-yet")
            expectRefused(directory, "escape/new-file", saying: "outside the data directory")
            expectRefused(directory, "escape", saying: "outside the data directory")
            expectRefused(directory, "secret", saying: "outside the data directory")
            expectRefused(directory, "dangling", saying: "does not resolve")
            expectRefused(directory, "dangling/x", saying: "does not resolve")
        }
    }

    @Test("a symbolic link that stays inside resolves to its target")
    func symlinkIn() throws {
        try withDirectories { directory, _ throws in
            try FileManager.default.createDirectory(
                atPath: directory.path + "/real", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: directory.path + "/alias", withDestinationPath: directory.path + "/real")
            #expect(try directory.resolve("alias/file.csv") == directory.path + "/real/file.csv")
        }
    }

    @Test("the directory comes from BATCH_DATA_DIR, else the temporary directory, and is created")
    func environment() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "datadir-env-" + UUID().uuidString.prefix(8)
        ).path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let configured = try DataDirectory.fromEnvironment(["BATCH_DATA_DIR": root + "/nested"])
        #expect(configured.path.hasSuffix("/nested"))
        #expect(FileManager.default.fileExists(atPath: root + "/nested"))
        let fallback = try DataDirectory.fromEnvironment([:])
        #expect(fallback == (try DataDirectory(path: FileManager.default.temporaryDirectory.path)))
    }
}
