import BatchTestKit
import Foundation
import Testing

/// The CLI closes its connections (the broker's, and the PostgreSQL pool with its libpq threads joined) before it
/// returns and then ends with a normal `exit`: no run may crash in C `atexit` clean-up (exit 139 or 134 once did,
/// hidden by an `_exit`).
@Suite("CLI exit", .tags(.endToEnd), .timeLimit(.minutes(5)))
struct CLIExitTests {
    /// A cheap command that opens and closes a connection, and the exit status it must end with.
    struct Invocation: Sendable {
        let arguments: [String]
        let status: Int32
    }

    static let invocations = [
        Invocation(arguments: ["executions", "--limit", "1"], status: 0),  // libpq
        Invocation(arguments: ["dead-letters", "--limit", "1"], status: 0),  // AMQP
        Invocation(arguments: ["migrate"], status: 0),  // libpq, a transaction
        Invocation(arguments: ["execution", "999999999"], status: 1),  // libpq, failing: the error path closes too
        Invocation(arguments: ["executions", "--limit", "1", "--json"], status: 0),
    ]

    @Test("500 CLI invocations, 4 at a time, all end with their exit status and none by a signal")
    func fiveHundredInvocationsExitCleanly() async throws {
        let world = try await EndToEnd()
        defer { Task { await world.tearDown() } }
        let total = 500
        let parallelism = 4
        let started = ContinuousClock.now
        let failures = try await withThrowingTaskGroup(of: String?.self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask { try await Self.run(Self.invocations[index % Self.invocations.count], in: world) }
            }
            for _ in 0..<parallelism { add() }
            var failures: [String] = []
            while let failure = try await group.next() {
                if let failure { failures.append(failure) }
                if next < total { add() }
            }
            return failures
        }
        let elapsed = ContinuousClock.now - started
        print("CLI exit: \(total) invocations, \(parallelism) at a time, in \(elapsed)")
        #expect(
            failures.isEmpty,
            "\(failures.count) of \(total) runs ended wrongly:\n\(failures.prefix(5).joined(separator: "\n"))")
    }

    /// Runs one invocation; nil when it ended as expected, else what went wrong.
    static func run(_ invocation: Invocation, in world: EndToEnd) async throws -> String? {
        let process = try WorkerProcess(
            executable: EndToEnd.executable, arguments: invocation.arguments, environment: world.environment,
            log: "\(world.directory)/exit-\(UUID().uuidString.prefix(8)).log")
        let status = try await process.waitForExit(timeout: .seconds(60))
        let output = process.output
        try? FileManager.default.removeItem(atPath: process.logPath)
        if process.process.terminationReason == .uncaughtSignal {
            return "\(invocation.arguments.joined(separator: " ")): killed by signal \(status):\n\(output.suffix(500))"
        }
        guard status == invocation.status else {
            return "\(invocation.arguments.joined(separator: " ")): exit \(status), expected \(invocation.status):\n"
                + output.suffix(500)
        }
        return nil
    }
}
