import BatchTestKit
import Foundation
import Testing

/// The deployment files, checked without a Docker engine: `scripts/validate-compose` validates `docker-compose.yml`
/// against the Compose specification's schema (`deploy/compose-spec/compose-spec.json`, shipped in the repository) and the
/// project's rules (a worker that scales, health checks, ...). These tests run it as a process from the package root,
/// on the real file and on broken copies of it, so a validator that accepts everything fails them.
@Suite("docker-compose.yml", .timeLimit(.minutes(3)))
struct ComposeFileTests {
    @Test("docker-compose.yml passes scripts/validate-compose")
    func composeFileIsValid() async throws {
        let result = try await Self.validate()
        #expect(result.status == 0, "scripts/validate-compose exited \(result.status):\n\(result.output)")
        #expect(result.output.contains("docker-compose.yml: valid"), "\(result.output)")
    }

    /// A way to break the compose file, and what the validator must then say.
    enum Breakage: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case workerPublishesHostPort
        case misspelledTopLevelKey
        case workerPortAndMisspelledKey
        case workerContainerName
        case workerStartsBeforeRabbitMQIsHealthy

        var testDescription: String { rawValue }

        /// The compose text broken this way, or nil when the text no longer has the lines this edits.
        func apply(to text: String) -> String? {
            let workerCommand = "    command: [\"worker\"]\n"
            let volumes = "\nvolumes:\n"
            let rabbitHealthy = "      rabbitmq:\n        condition: service_healthy\n"
            switch self {
            case .workerPublishesHostPort:
                return Self.replace(workerCommand, with: workerCommand + "    ports: [\"8080:8080\"]\n", in: text)
            case .misspelledTopLevelKey:
                return Self.replace(volumes, with: "\nvolumse:\n", in: text)
            case .workerPortAndMisspelledKey:
                return Self.workerPublishesHostPort.apply(to: text).flatMap { Self.misspelledTopLevelKey.apply(to: $0) }
            case .workerContainerName:
                return Self.replace(
                    workerCommand, with: workerCommand + "    container_name: swiftbatch-worker\n", in: text)
            case .workerStartsBeforeRabbitMQIsHealthy:
                return Self.replace(
                    rabbitHealthy, with: "      rabbitmq:\n        condition: service_started\n", in: text)
            }
        }

        /// Words the validator's report must contain.
        var expectedWords: [String] {
            switch self {
            case .workerPublishesHostPort: ["worker", "8080"]
            case .misspelledTopLevelKey: ["volumse"]
            case .workerPortAndMisspelledKey: ["8080", "volumse"]
            case .workerContainerName: ["container_name"]
            case .workerStartsBeforeRabbitMQIsHealthy: ["rabbitmq", "service_healthy"]
            }
        }

        private static func replace(_ target: String, with replacement: String, in text: String) -> String? {
            guard let range = text.range(of: target) else { return nil }
            return text.replacingCharacters(in: range, with: replacement)
        }
    }

    @Test("a broken copy of docker-compose.yml is refused", arguments: Breakage.allCases)
    func brokenComposeFileIsRefused(_ breakage: Breakage) async throws {
        let root = try Self.packageRoot()
        let original = try String(contentsOf: root.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
        let broken = try #require(
            breakage.apply(to: original), "docker-compose.yml no longer has the lines this test edits")

        let copy = FileManager.default.temporaryDirectory
            .appendingPathComponent("swift-batch-compose-\(UUID().uuidString).yml")
        try broken.write(to: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: copy) }

        let result = try await Self.validate(copy.path)
        #expect(
            result.status != 0, "scripts/validate-compose accepted a compose file with \(breakage):\n\(result.output)")
        #expect(!result.output.contains(": valid"), "\(result.output)")
        for word in breakage.expectedWords {
            #expect(result.output.contains(word), "the report does not mention \(word):\n\(result.output)")
        }
    }

    // MARK: - Running the validator

    struct ValidatorResult {
        var status: Int32
        /// Standard output and standard error, interleaved.
        var output: String
    }

    struct PackageRootNotFound: Error, CustomStringConvertible {
        var start: String
        var description: String { "no Package.swift above \(start)" }
    }

    /// The directory holding Package.swift, found by walking up from this file.
    static func packageRoot(from file: String = #filePath) throws -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while true {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path { throw PackageRootNotFound(start: file) }
            directory = parent
        }
    }

    /// Runs `scripts/validate-compose [arguments...]` in the package root.
    static func validate(_ arguments: String...) async throws -> ValidatorResult {
        let root = try packageRoot()
        let process = Process()
        process.executableURL = root.appendingPathComponent("scripts/validate-compose")
        process.arguments = arguments
        process.currentDirectoryURL = root
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let (status, data) = try await process.runToEnd(reading: pipe)
        return ValidatorResult(status: status, output: String(decoding: data, as: UTF8.self))
    }
}
