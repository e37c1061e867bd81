import Batch
import BatchPostgres
import Foundation
import Logging
import Testing

extension Tag {
    /// Tests that take seconds (server restarts, timeouts).
    @Tag static var slow: Self
}

/// The test database: `BATCH_TEST_DATABASE_URL`, or the loopback default `scripts/services up` provides. Every
/// test works in a schema of its own (random name) and drops it afterwards, so tests can run in parallel.
enum TestDatabase {
    static let defaultURL = "postgres://batch:batch@127.0.0.1:5432/batch_test"

    static var logger: Logger {
        var logger = Logger(label: "batch.postgres.tests")
        logger.logLevel = .critical
        return logger
    }

    /// The configuration with a fresh schema name.
    static func configuration(poolSize: Int = 4) throws -> PostgresConfiguration {
        let url = ProcessInfo.processInfo.environment["BATCH_TEST_DATABASE_URL"] ?? defaultURL
        var configuration = try PostgresConfiguration(url: url)
        configuration.schema =
            "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        configuration.pool.size = poolSize
        configuration.reconnect = .init(maxAttempts: 10, initialDelay: .milliseconds(100), maxDelay: .seconds(2))
        return configuration
    }

    /// Runs `body` with a connection, closing it after.
    @discardableResult
    static func withConnection<Result>(
        _ configuration: PostgresConfiguration? = nil, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await PostgresConnection.connect(
            configuration: configuration ?? self.configuration(), logger: logger)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Runs `body` with a migrated repository in a schema of its own, then drops the schema.
    static func withRepository<Result>(
        poolSize: Int = 4, _ body: (PostgresJobRepository) async throws -> Result
    ) async throws -> Result {
        let configuration = try configuration(poolSize: poolSize)
        let repository = try PostgresJobRepository(configuration: configuration, logger: logger)
        defer { Task { await repository.shutdown() } }
        do {
            try await repository.migrate()
            let result = try await body(repository)
            try await dropSchema(configuration)
            return result
        } catch {
            try? await dropSchema(configuration)
            throw error
        }
    }

    /// Drops a test schema and everything in it.
    static func dropSchema(_ configuration: PostgresConfiguration) async throws {
        try await withConnection(configuration) { connection in
            try await connection.query("DROP SCHEMA IF EXISTS \"\(configuration.schema)\" CASCADE")
        }
    }

    /// Runs `scripts/services <command>` from the package root, on a thread of its own (spawn and wait), so no
    /// cooperative thread blocks. (Foundation's `Process` sometimes never reports the end of a child here.)
    static func services(_ command: String) async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/services").path
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                var pid: pid_t = 0
                let arguments: [UnsafeMutablePointer<CChar>?] = [strdup(script), strdup(command), nil]
                defer { arguments.forEach { free($0) } }
                let spawned = posix_spawn(&pid, script, nil, nil, arguments, environ)
                guard spawned == 0 else {
                    continuation.resume(
                        throwing: PostgresError(.unexpectedResult, "could not run \(script): \(spawned)"))
                    return
                }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: status)
            }
            thread.start()
        }
        guard status == 0 else {
            throw PostgresError(.unexpectedResult, "scripts/services \(command) exited with status \(status)")
        }
    }
}
