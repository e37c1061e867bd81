import BatchTestKit
import Foundation
import Testing

/// Runs the built `swiftbatch` with servers that cannot be reached: whatever it says comes from its own checks,
/// before it connects or publishes anything (a publish would fail with a connection error instead).
enum OfflineCLI {
    static let environment: [String: String] = [
        "BATCH_DATABASE_URL": "postgres://batch:batch@127.0.0.1:1/none",
        "BATCH_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2f",
        "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
    ]

    /// Runs `swiftbatch arguments` to its end.
    static func run(
        _ arguments: [String], environment extra: [String: String] = [:]
    ) async throws -> (
        status: Int32, output: String
    ) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cli-\(UUID().uuidString.prefix(8)).log"
        ).path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let process = try WorkerProcess(
            executable: EndToEnd.executable, arguments: arguments,
            environment: environment.merging(extra) { _, new in new }, log: log)
        let status = try await process.waitForExit(timeout: .seconds(30))
        return (status, process.output)
    }
}

/// Every number the CLI takes is checked locally, and the refusal says what is wrong.
@Suite("CLI validation", .timeLimit(.minutes(2)))
struct CLIValidationTests {
    static let refusals: [([String], String)] = [
        (["execution", "-5"], "execution id must be a positive integer, got -5"),
        (["execution", "0"], "execution id must be a positive integer, got 0"),
        (["execution", "99999999999999999999"], "execution id must be a positive integer"),
        (["stop", "0"], "execution id must be a positive integer, got 0"),
        (["stop", "-5"], "execution id must be a positive integer, got -5"),
        (["restart", "0"], "execution id must be a positive integer, got 0"),
        (["abandon", "0"], "execution id must be a positive integer, got 0"),
        (["stop", "count", "--bogus"], "unknown option '--bogus'"),
        (["executions", "--limit", "-1"], "--limit must be an integer from 1 to 10000, got -1"),
        (["executions", "--limit", "0"], "--limit must be an integer from 1 to 10000, got 0"),
        (["worker", "--lease", "-1"], "--lease must be a number of seconds"),
        (["worker", "--lease", "1e300"], "--lease must be a number of seconds"),
        (["worker", "--grace", "nan"], "--grace must be a number of seconds"),
        (["worker", "--heartbeat", "0"], "--heartbeat must be a number of seconds"),
        (["worker", "--heartbeat", "6"], "must be at most half of --lease 10.0"),
        (["worker", "--concurrency", "-2"], "--concurrency must be an integer from 1 to 1024, got -2"),
        (["start", "hello", "--timeout", "-1"], "--timeout must be a number of seconds"),
        (["stop", "count", "--timeout", "1e300"], "--timeout must be a number of seconds"),
        (["worker", "--command-attempts", "-1"], "--command-attempts must be an integer from 1 to 100, got -1"),
        (["worker", "--command-attempts", "101"], "--command-attempts must be an integer from 1 to 100, got 101"),
        (["worker", "--partition-attempts", "-1"], "--partition-attempts must be an integer from 1 to 100, got -1"),
        (["dead-letters", "--limit", "-1"], "--limit must be an integer from 1 to 10000, got -1"),
        (["server", "--max-event-streams", "-1"], "--max-event-streams takes a number from 1 to 100000, got -1"),
    ]

    @Test("bad ids and numeric flags are refused with what is wrong", arguments: refusals)
    func refused(arguments: [String], message: String) async throws {
        let (status, output) = try await OfflineCLI.run(arguments)
        #expect(status == 64, "\(output)")
        #expect(output.contains(message), "\(output)")
        #expect(!output.contains("Fatal error"))
    }

    @Test(
        "a bad --misfire or --log-level shows the subcommand's usage, not the root's",
        arguments: [
            (
                ["schedule", "add", "nightly", "--job", "hello", "--cron", "0 2 * * *", "--misfire", "never"],
                "--misfire must be skip, once or all", "Usage: swiftbatch schedule add"
            ),
            (["executions", "--log-level", "loud"], "unknown log level 'loud'", "Usage: swiftbatch executions"),
        ])
    func usageOfTheSubcommand(arguments: [String], message: String, usage: String) async throws {
        let (status, output) = try await OfflineCLI.run(arguments)
        #expect(status == 64, "\(output)")
        #expect(output.contains(message), "\(output)")
        #expect(output.contains(usage), "\(output)")
    }

    @Test("a stop by name does not wait out the pool's reconnect policy when the database is away")
    func stopByNameLooksUpQuickly() async throws {
        let start = ContinuousClock.now
        let (status, output) = try await OfflineCLI.run(["stop", "count", "--timeout", "1"])
        #expect(status != 0, "\(output)")
        // The old lookup tried the database eight times, backing off over ten seconds, before sending anything.
        #expect(ContinuousClock.now - start < .seconds(6), "\(output)")
    }

    @Test("the CLI reads BATCH_DATABASE_POOL_SIZE, as the library does, and refuses a bad one before connecting")
    func poolSizeFromEnvironment() async throws {
        for value in ["0", "many"] {
            let (status, output) = try await OfflineCLI.run(
                ["executions"], environment: ["BATCH_DATABASE_POOL_SIZE": value])
            #expect(status != 0, "\(output)")
            #expect(output.contains("BATCH_DATABASE_POOL_SIZE must be a positive integer, not '\(value)'"), "\(output)")
        }
    }

    static let badStarts: [([String], String)] = [
        (["start", "hello", "--params", #"{"who":"nul\u0000"}"#], "NUL"),
        (["start", "hello", "--params", #"{"who":"#], "not JSON"),
        (["start", "count", "--params", #"{"chunkSize":0}"#], "'chunkSize' must be between 1 and 100000, got 0"),
        (["start", "count", "--params", #"{"items":-1}"#], "'items' must be between 0 and 10000000, got -1"),
        (["start", "nosuchjob"], "no job named 'nosuchjob'"),
        (["stop", "nosuchjob"], "no job named 'nosuchjob'"),
        (["restart", "nosuchjob"], "no job named 'nosuchjob'"),
    ]

    @Test(
        "start refuses bad parameters, stop and restart an unknown job, locally: nothing is published",
        arguments: badStarts)
    func badStart(arguments: [String], message: String) async throws {
        let (status, output) = try await OfflineCLI.run(arguments)
        #expect(status != 0)
        #expect(output.contains(message), "\(output)")
        #expect(!output.contains("127.0.0.1"), "it tried to connect: \(output)")
    }
}
