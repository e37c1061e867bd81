import BatchTestKit
import Foundation
import Logging
import Testing

@testable import BatchWorker

/// `SwiftBatch.main` names the command as the executable is named; `--log-level` is the level of every logger of
/// the process.
@Suite("CLI name and log level", .timeLimit(.minutes(2)))
struct CLINameAndLogLevelTests {
    /// Runs the built `swiftbatch` through a link called `name`; returns its status and output.
    static func run(as name: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cli-name-" + UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let link = directory.appendingPathComponent(name)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: EndToEnd.executable)
        let process = Process()
        process.executableURL = link
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let (status, data) = try await process.runToEnd(reading: output)
        return (status, String(decoding: data, as: UTF8.self))
    }

    @Test func helpAndErrorsNameTheExecutable() async throws {
        let help = try await Self.run(as: "import-orders", ["--help"])
        #expect(help.status == 0)
        #expect(help.output.contains("USAGE: import-orders <subcommand>"))
        #expect(!help.output.contains("swiftbatch"))

        let start = try await Self.run(as: "import-orders", ["start", "--help"])
        #expect(start.output.contains("USAGE: import-orders start"))
        #expect(start.output.contains("Example: import-orders start"))

        let error = try await Self.run(as: "import-orders", ["execution", "-5"])
        #expect(error.status == 64)
        #expect(error.output.contains("Usage: import-orders execution"))
        #expect(error.output.contains("See 'import-orders execution --help'"))
    }

    @Test func aLoggerCreatedAnywhereFollowsTheChosenLevel() {
        let processLevel = ProcessLogLevel(.warning)
        func make(_ label: String) -> Logger {
            Logger(label: label) { label in
                ProcessLevelLogHandler(label: label, processLevel: processLevel)
            }
        }
        let early = make("library.created-before-the-command-chose")  // e.g. a static logger of a library
        #expect(early.logLevel == .warning)
        processLevel.level = .debug  // what `--log-level debug` does
        #expect(early.logLevel == .debug)
        #expect(make("library.created-after").logLevel == .debug)
        processLevel.level = .error
        #expect(early.logLevel == .error)

        var own = make("a logger with a level of its own")
        own.logLevel = .trace
        processLevel.level = .critical
        #expect(own.logLevel == .trace)
        #expect(early.logLevel == .critical)
    }

    @Test func everyLevelRoundTrips() {
        let processLevel = ProcessLogLevel(.info)
        for level in Logger.Level.allCases {
            processLevel.level = level
            #expect(processLevel.level == level)
        }
    }
}
