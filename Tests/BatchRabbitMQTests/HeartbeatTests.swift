import BatchRabbitMQ
import Foundation
import Testing

@Suite(.tags(.broker)) struct HeartbeatTests {
    /// With a 1 s heartbeat the broker closes a connection that stays silent for about 2 s. An idle connection must
    /// keep sending heartbeats from its I/O thread: its exclusive queue (not redeclared on reconnect) must survive.
    @Test func anIdleConnectionStaysUp() async throws {
        try await BrokerLock.shared.withShared {
            var configuration = try TestBroker.configuration()
            configuration.heartbeat = .seconds(1)
            let connection = try await AMQPConnection.connect(configuration: configuration, logger: TestBroker.logger)
            let queue = "\(TestBroker.randomPrefix()).idle"
            try await connection.declare(
                [.queue(queue, durable: false, exclusive: true, autoDelete: true)], redeclareOnReconnect: false)
            try await Task.sleep(for: .seconds(4))
            #expect(try await connection.queueStatus(queue).messages == 0, "the connection was never dropped")
            await connection.close()
        }
    }
}
