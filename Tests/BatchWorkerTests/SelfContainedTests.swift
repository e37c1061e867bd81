import BatchTestKit
import Foundation
import Testing

/// A bare clone of the repository has everything its tests read: nothing refers to files beside the repository.
@Suite("the repository is self-contained", .timeLimit(.minutes(3)))
struct SelfContainedTests {
    @Test("scripts/validate-compose passes in a copy of the repository's files with nothing beside them")
    func composeValidationNeedsNothingOutside() async throws {
        let root = try ComposeFileTests.packageRoot()
        let sandbox = FileManager.default.temporaryDirectory
            .appendingPathComponent("swift-batch-bare-\(UUID().uuidString)")
        let copy = sandbox.appendingPathComponent("repository")
        defer { try? FileManager.default.removeItem(at: sandbox) }
        for path in ["scripts/validate-compose", "docker-compose.yml", "deploy"] {
            let target = copy.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: root.appendingPathComponent(path), to: target)
        }
        let process = Process()
        process.executableURL = copy.appendingPathComponent("scripts/validate-compose")
        process.currentDirectoryURL = copy
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "BATCH_COMPOSE_SCHEMA")
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let (status, data) = try await process.runToEnd(reading: pipe)
        let output = String(decoding: data, as: UTF8.self)
        #expect(status == 0, "\(output)")
        #expect(output.contains("docker-compose.yml: valid"), "\(output)")
    }

    @Test("no tracked file reads from a folder beside the repository")
    func noTrackedFileReachesOutside() async throws {
        let root = try ComposeFileTests.packageRoot()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["-C", root.path, "grep", "-l", "-I", "-e", "\\.\\./shared", "-e", "shared/dat[a]/"]
        let pipe = Pipe()
        process.standardOutput = pipe
        let (status, data) = try await process.runToEnd(reading: pipe)
        let output = String(decoding: data, as: UTF8.self)
        // git grep exits 1 when nothing matches; this file names the patterns only in escaped form.
        #expect(status == 1, "files that refer to the folder beside the repository:\n\(output)")
    }
}
