import BatchRabbitMQ
import Foundation
import Testing

@Suite(.tags(.broker)) struct PublishTests {
    @Test func anUnroutableMandatoryMessageIsAnError() async throws {
        try await TestBroker.withMessaging { messaging in
            let error = await #expect(throws: AMQPError.self) {
                try await messaging.connection.publish(
                    AMQPMessage(text: "x"), exchange: messaging.topology.eventsExchange, routingKey: "nowhere",
                    mandatory: true)
            }
            #expect(error?.code == .publishReturned)
            // Not mandatory: dropped silently, confirmed.
            try await messaging.connection.publish(
                AMQPMessage(text: "x"), exchange: messaging.topology.eventsExchange, routingKey: "nowhere")
        }
    }

    @Test func aMissingExchangeFailsThePublishAndTheChannelRecovers() async throws {
        try await TestBroker.withMessaging { messaging in
            let error = await #expect(throws: AMQPError.self) {
                try await messaging.connection.publish(
                    AMQPMessage(text: "x"), exchange: "\(messaging.topology.prefix).nope", routingKey: "k")
            }
            #expect(error?.code == .notFound)
            try await messaging.send(.stop(job: "after"))
            #expect(try await messaging.connection.queueStatus(messaging.topology.commandsQueue).messages == 1)
        }
    }

    @Test func aWrongPasswordIsRefusedWithoutShowingIt() async throws {
        var configuration = try TestBroker.configuration()
        configuration.password = "definitely-wrong-\(UUID().uuidString)"
        let password = configuration.password
        let error = await #expect(throws: AMQPError.self) {
            _ = try await AMQPConnection.connect(configuration: configuration, logger: TestBroker.logger)
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains(password) == false)
    }

    @Test func anUnreachableBrokerFailsToConnect() async throws {
        var configuration = try TestBroker.configuration()
        configuration.port = 1
        configuration.connectTimeout = .seconds(2)
        let error = await #expect(throws: AMQPError.self) {
            _ = try await AMQPConnection.connect(configuration: configuration, logger: TestBroker.logger)
        }
        #expect(error?.code == .connectionFailed)
    }
}
