import BatchRabbitMQ
import BatchTestKit
import Foundation
import Logging
import Testing

extension Tag {
    /// Slow tests (the broker restart). Set `BATCH_TEST_SKIP_SLOW=1` to skip them.
    @Tag static var slow: Self
    /// Tests that need a RabbitMQ broker (`BATCH_TEST_AMQP_URL`, default
    /// `amqp://guest:guest@127.0.0.1:5672/batch_test`, the virtual host `scripts/services up` creates).
    @Tag static var broker: Self
}

/// The broker the integration tests use, and helpers that leave nothing behind.
enum TestBroker {
    static let url =
        ProcessInfo.processInfo.environment["BATCH_TEST_AMQP_URL"].flatMap { $0.isEmpty ? nil : $0 }
        ?? "amqp://guest:guest@127.0.0.1:5672/batch_test"

    static let skipSlow = ProcessInfo.processInfo.environment["BATCH_TEST_SKIP_SLOW"] == "1"

    static var logger: Logger {
        var logger = Logger(label: "BatchRabbitMQTests")
        let level = ProcessInfo.processInfo.environment["BATCH_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = level ?? .error
        return logger
    }

    static func configuration() throws -> AMQPConfiguration {
        var configuration = try AMQPConfiguration(url: url)
        configuration.reconnect = .init(initialDelay: .milliseconds(100), maximumDelay: .seconds(1), jitter: 0.2)
        configuration.heartbeat = .seconds(5)
        return configuration
    }

    static func connect() async throws -> AMQPConnection {
        try await AMQPConnection.connect(configuration: configuration(), logger: logger)
    }

    /// A prefix no other test uses.
    static func randomPrefix() -> String {
        "test-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Runs `body` with a connection and a freshly declared topology under a random prefix, then deletes the
    /// topology and closes the connection, whether `body` threw or not.
    static func withMessaging<T>(
        limits: MessageLimits = MessageLimits(),
        _ body: (BatchMessaging) async throws -> T
    ) async throws -> T {
        try await BrokerLock.shared.withShared {
            let connection = try await connect()
            let topology = BatchTopology(prefix: randomPrefix())
            let messaging = BatchMessaging(connection: connection, topology: topology, limits: limits, logger: logger)
            do {
                try await messaging.declareTopology()
                let result = try await body(messaging)
                await cleanUp(topology)
                await connection.close()
                return result
            } catch {
                await cleanUp(topology)
                await connection.close()
                throw error
            }
        }
    }

    /// Declares an exclusive queue on `messaging`'s connection and returns its name. Such a queue dies with its
    /// connection: still there later (``AMQPConnection/queueStatus(_:)`` finds it), the connection was never lost
    /// and re-established meanwhile.
    static func connectionProbe(_ messaging: BatchMessaging) async throws -> String {
        let probe = "\(messaging.topology.prefix).probe"
        try await messaging.connection.declare(
            [.queue(probe, durable: false, exclusive: true, autoDelete: false)], redeclareOnReconnect: false)
        return probe
    }

    /// Deletes everything of `topology` on a connection of its own.
    static func cleanUp(_ topology: BatchTopology) async {
        guard let connection = try? await connect() else { return }
        for queue in topology.ownQueues { try? await connection.deleteQueue(queue) }
        for exchange in [topology.deadLetterExchange, topology.controlExchange, topology.eventsExchange] {
            try? await connection.deleteExchange(exchange)
        }
        await connection.close()
    }

    /// Runs `rabbitmqctl` with `arguments`; returns its exit status.
    @discardableResult
    static func rabbitmqctl(_ arguments: String...) throws -> Int32 {
        try BatchTestKit.rabbitmqctl(arguments, notFound: CancellationError())
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out: \(what)" }
}

/// Runs `body`, failing with ``TimeoutError`` when it takes longer than `limit`.
func withTimeout<T: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Lets the broker tests run in parallel while a test that restarts the broker runs alone.
actor BrokerLock {
    static let shared = BrokerLock()

    private var readers = 0
    private var writer = false
    private var waitingWriters: [CheckedContinuation<Void, Never>] = []
    private var waitingReaders: [CheckedContinuation<Void, Never>] = []

    nonisolated func withShared<T>(_ body: () async throws -> T) async throws -> T {
        await acquireShared()
        do {
            let result = try await body()
            await releaseShared()
            return result
        } catch {
            await releaseShared()
            throw error
        }
    }

    nonisolated func withExclusive<T>(_ body: () async throws -> T) async throws -> T {
        await acquireExclusive()
        do {
            let result = try await body()
            await releaseExclusive()
            return result
        } catch {
            await releaseExclusive()
            throw error
        }
    }

    private func acquireShared() async {
        if writer || !waitingWriters.isEmpty {
            await withCheckedContinuation { waitingReaders.append($0) }  // the releaser counts us in
        } else {
            readers += 1
        }
    }

    private func acquireExclusive() async {
        if writer || readers > 0 {
            await withCheckedContinuation { waitingWriters.append($0) }  // the releaser sets `writer`
        } else {
            writer = true
        }
    }

    private func releaseShared() {
        readers -= 1
        if readers == 0, !waitingWriters.isEmpty {
            writer = true
            waitingWriters.removeFirst().resume()
        }
    }

    private func releaseExclusive() {
        writer = false
        if !waitingWriters.isEmpty {
            writer = true
            waitingWriters.removeFirst().resume()
        } else {
            let waiting = waitingReaders
            waitingReaders.removeAll()
            readers += waiting.count
            for reader in waiting { reader.resume() }
        }
    }
}
