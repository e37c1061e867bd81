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

    /// Twelve statements of 1 s each on twelve connections at once finish together, in about a second (under 4 s
    /// on a busy machine): with a blocking call per statement they would take turns on Swift's cooperative threads
    /// (as many as cores, here two), six seconds or more.
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
        #expect(elapsed < .seconds(4), "12 concurrent 1 s statements took \(elapsed)")
        // Twelve open connections, and no thread of their own: one poller thread for the process (beside the
        // short-lived threads of connects under way, other tests').
        let names = try Self.threadNames()
        #expect(names.filter { $0.hasPrefix("libpq") && $0 != "libpq connect" } == ["libpq poll"], "threads: \(names)")
        for connection in connections { await connection.close() }
    }
}

/// `COPY` statements sent through `query(_:_:)` are refused, and the connection stays usable.
@Suite(.database, .timeLimit(.minutes(1))) struct PostgresCopyThroughQueryTests {
    @Test(arguments: ["COPY (SELECT 1) TO STDOUT", "COPY pg_temp.t (v) FROM STDIN"])
    func isRefusedAndTheConnectionGoesOn(_ statement: String) async throws {
        try await TestDatabase.withConnection { connection in
            try await connection.query("CREATE TEMPORARY TABLE t (v int)")
            let error = try await #require(throws: PostgresError.self) { try await connection.query(statement) }
            #expect(error.code == .unexpectedResult)
            #expect(error.message.contains("use copyIn"))
            // A COPY out could only be left by reading it to its end: the session was ended and is made again.
            let one = try await connection.query("SELECT 1 AS one").single().decode("one", as: Int.self)
            #expect(one == 1)
        }
    }
}
