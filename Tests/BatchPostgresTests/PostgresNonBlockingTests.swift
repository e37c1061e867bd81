import BatchPostgres
import Foundation
import Logging
import Testing

/// Connections in non-blocking mode: a statement the server is still working on holds no thread, and connections
/// have no threads of their own (one poller waits for all of them).
@Suite(.database, .timeLimit(.minutes(1))) struct PostgresNonBlockingTests {
    /// The names of this process's threads (`/proc/self/task/*/comm`).
    static func threadNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { task in
            try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Twelve statements of 1 s each on twelve connections at once finish together, in about a second: with a
    /// blocking call per statement they would take turns on Swift's cooperative threads (as many as cores, here
    /// two), six seconds or more.
    @Test func statementsInFlightHoldNoThread() async throws {
        let configuration = try TestDatabase.configuration()
        let logger = Logger(label: "test")
        var connections: [PostgresConnection] = []
        for _ in 0..<12 {
            connections.append(try await PostgresConnection.connect(configuration: configuration, logger: logger))
        }
        let clock = ContinuousClock()
        let started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in connections {
                group.addTask { try await connection.query("SELECT pg_sleep(1)") }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - started
        #expect(elapsed < .seconds(3), "12 concurrent 1 s statements took \(elapsed)")
        // Twelve open connections, and no thread of their own: one poller thread for the process (beside the
        // short-lived threads of connects under way, other tests').
        let names = try Self.threadNames()
        #expect(names.filter { $0.hasPrefix("libpq") && $0 != "libpq connect" } == ["libpq poll"], "threads: \(names)")
        for connection in connections { await connection.close() }
    }
}
