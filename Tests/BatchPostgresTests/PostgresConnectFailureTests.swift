import BatchPostgres
import BatchTestKit
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP listener on 127.0.0.1 that completes the TCP handshake (the kernel accepts into its queue) but never
/// answers: a database that "accepts a connection but never answers".
final class SilentListener: Sendable {
    let port: Int
    private let socket: Int32

    init() throws {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw PostgresError(.unexpectedResult, "socket() failed: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw PostgresError(.unexpectedResult, "could not listen on 127.0.0.1: \(errno)")
        }
        socket = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func stop() { close(socket) }
}

/// Connecting is bounded, retried only when it can get better, and logged when it is retried.
@Suite(.database, .timeLimit(.minutes(2))) struct PostgresConnectFailureTests {
    static func elapsed(_ body: () async throws -> Void) async rethrows -> Duration {
        let start = ContinuousClock.now
        try await body()
        return ContinuousClock.now - start
    }

    /// Connects with `configuration`, requiring it to fail: the error and how long the attempts took.
    static func failedConnect(
        _ configuration: PostgresConfiguration, logger: Logger
    ) async throws -> (error: PostgresError, took: Duration) {
        var caught: PostgresError?
        let took = try await elapsed {
            caught = try await #require(throws: PostgresError.self) {
                _ = try await PostgresConnection.connect(configuration: configuration, logger: logger)
            }
        }
        return (try #require(caught), took)
    }

    @Test func theDefaultConnectTimeoutIsFiveSecondsAndReachesLibpqFromTheURL() throws {
        let plain = try PostgresConfiguration(url: "postgres://batch@db/jobs")
        #expect(plain.connectTimeout == .seconds(5))
        let configured = try PostgresConfiguration(url: "postgres://batch@db/jobs?connect_timeout=2")
        #expect(configured.connectTimeout == .seconds(2))
        #expect(configured.options["connect_timeout"] == "2")
        var rounded = plain
        rounded.connectTimeout = .milliseconds(1500)
        #expect(rounded.connectTimeout == .seconds(2), "libpq counts whole seconds: rounded up")
        rounded.connectTimeout = .zero
        #expect(rounded.connectTimeout == .seconds(1), "never 0, which libpq takes as no limit")
        for bad in ["0", "-1", "soon", ""] {
            let error = try #require(throws: PostgresError.self) {
                try PostgresConfiguration(url: "postgres://batch@db/jobs?connect_timeout=\(bad)")
            }
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("connect_timeout"))
        }
        #expect(throws: PostgresError.self) {
            try PostgresConfiguration(keywords: ["user": "u", "connect_timeout": "0"])
        }
    }

    @Test func aServerThatAcceptsButNeverAnswersTimesOutWithinTheConnectTimeout() async throws {
        let listener = try SilentListener()
        defer { listener.stop() }
        let recorder = LogRecorder()
        // The password "x" must not garble "expired" or any other word of the message.
        var configuration = try PostgresConfiguration(
            url: "postgres://batch:x@127.0.0.1:\(listener.port)/batch?connect_timeout=2&sslmode=disable")
        configuration.reconnect = .init(maxAttempts: 2, initialDelay: .milliseconds(50))
        let (error, took) = try await Self.failedConnect(configuration, logger: recorder.logger)
        #expect(error.code == .connectionFailed)
        #expect(error.message.contains("timeout expired"), "\(error.message)")
        #expect(error.message.contains("connect_timeout = 2 s"))
        #expect(error.isTransient, "a server that does not answer may answer later")
        // Two attempts of 2 s each, 50 ms apart: well short of the minutes a hanging connection could take (the bound
        // leaves room for a loaded machine).
        #expect(took < .seconds(12), "took \(took)")
        #expect(took >= .seconds(3), "took \(took): both attempts waited out the timeout")
        // The one retry was logged at warning, saying what is retried and why.
        let retries = recorder.lines.filter { $0.level == .warning && $0.message.contains("retrying") }
        #expect(retries.count == 1)
        #expect(retries.first?.metadata["postgres.error"]?.contains("timeout expired") == true)
        #expect(retries.first?.metadata["postgres.attempt"] == "1 of 2")
        #expect(retries.first?.metadata["postgres.port"] == "\(listener.port)")
    }

    @Test func aWrongPasswordFailsAtOnceAndIsPermanent() async throws {
        let recorder = LogRecorder()
        var configuration = try TestDatabase.configuration()
        configuration.password = "Wrong-Secret-Pa55"
        // A second attempt would come 30 s after the first: one attempt takes milliseconds (seconds when the whole
        // suite starts at once on 2 cores, which once stretched it past 4 s).
        configuration.reconnect = .init(maxAttempts: 8, initialDelay: .seconds(30), maxDelay: .seconds(30))
        let (error, took) = try await Self.failedConnect(configuration, logger: recorder.logger)
        #expect(error.code == .connectionFailed)
        #expect(error.sqlState == PostgresError.SQLState.invalidPassword)
        #expect(error.message.contains("password authentication failed"))
        #expect(!error.isTransient)
        #expect(took < .seconds(20), "took \(took): no second attempt")
        #expect(!recorder.lines.contains { $0.level == .warning }, "no retry was logged")
        #expect(recorder.lines.contains { $0.level == .error && $0.message.contains("not retrying") })
        #expect(recorder.lines.allSatisfy { !$0.text.contains("Wrong-Secret-Pa55") })
        #expect(!error.description.contains("Wrong-Secret-Pa55"))
    }

    @Test func anUnknownDatabaseOrRoleFailsAtOnceAndIsPermanent() async throws {
        var configuration = try TestDatabase.configuration()
        configuration.reconnect = .init(maxAttempts: 8, initialDelay: .milliseconds(500))
        configuration.database = "no_such_database_\(UUID().uuidString.prefix(8).lowercased())"
        let database = try await #require(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect(configuration: configuration, logger: TestDatabase.logger)
        }
        #expect(database.sqlState == PostgresError.SQLState.invalidCatalogName)
        #expect(!database.isTransient)
    }

    @Test func aBogusSSLModeFailsAtOnceWithAClearMessage() async throws {
        var configuration = try PostgresConfiguration(
            url: (ProcessInfo.processInfo.environment["BATCH_TEST_DATABASE_URL"] ?? TestDatabase.defaultURL)
                + "?sslmode=bogus")
        // A second attempt would come 30 s after the first.
        configuration.reconnect = .init(maxAttempts: 8, initialDelay: .seconds(30), maxDelay: .seconds(30))
        let (error, took) = try await Self.failedConnect(configuration, logger: TestDatabase.logger)
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.contains("invalid sslmode value: \"bogus\""), "\(error.message)")
        #expect(!error.isTransient)
        #expect(took < .seconds(20), "took \(took): no second attempt")
    }

    @Test func libpqMessagesNeverHoldThePasswordAndAreNotRewritten() async throws {
        // The password goes to libpq as a keyword of its own: its messages cannot echo it, so nothing is searched
        // and replaced. A password equal to the user name leaves the user name in the message.
        var configuration = try TestDatabase.configuration()
        configuration.reconnect = .init(maxAttempts: 1)
        configuration.user = "batch_nobody_\(UUID().uuidString.prefix(6).lowercased())"
        configuration.password = configuration.user
        let error = try await #require(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect(configuration: configuration, logger: TestDatabase.logger)
        }
        #expect(error.message.contains("\"\(configuration.user)\""), "\(error.message)")
        #expect(!error.message.contains("*"))
        #expect(!error.isTransient)
    }

    /// `swiftbatch run` crashed at exit (OpenSSL's clean-up under a connect a heartbeat had begun): a shutdown stops
    /// the retries of the connects in flight and waits for them, a second at most.
    @Test func aPoolShutdownWaitsASecondAtMostForAConnectInFlight() async throws {
        let listener = try SilentListener()
        defer { listener.stop() }
        var configuration = try TestDatabase.configuration(poolSize: 1)
        configuration.host = "127.0.0.1"
        configuration.port = listener.port
        configuration.connectTimeout = .seconds(2)
        let pool = PostgresConnectionPool(configuration: configuration, logger: TestDatabase.logger)
        let connecting = Task { try await pool.lease() }
        try await eventually("the connect began", timeout: .seconds(10)) { await pool.openConnections == 1 }
        try await Task.sleep(for: .milliseconds(100))
        let took = await Self.elapsed { await pool.shutdown() }
        #expect(took >= .milliseconds(900) && took < .seconds(10), "\(took)")
        // The attempt ends at its 2 s timeout and is not retried (8 attempts otherwise): the connection was closed.
        var error: PostgresError?
        let ended = try await Self.elapsed {
            error = try await #require(throws: PostgresError.self) { try await connecting.value }
        }
        #expect(error?.code == .closed, "\(String(describing: error))")
        #expect(ended < .seconds(15), "\(ended)")  // retried, it would take 8 attempts of 2 s (31 s)
    }
}
