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

    @Test("a routing key, name or property over AMQP's 255 bytes is refused alone; the connection goes on")
    func anOverlongShortStringIsRefusedWithoutLosingTheConnection() async throws {
        try await TestBroker.withMessaging { messaging in
            // An exclusive queue dies with its connection: it still holding its message at the end shows that the
            // connection was never lost and re-established.
            let probe = "\(messaging.topology.prefix).probe"
            try await messaging.connection.declare(
                [.queue(probe, durable: false, exclusive: true, autoDelete: false)], redeclareOnReconnect: false)
            try await messaging.connection.publish(AMQPMessage(text: "p"), exchange: "", routingKey: probe)
            let long = String(repeating: "k", count: 256)
            let attempts: [(String, () async throws -> Void)] = [
                (
                    "routing key",
                    {
                        try await messaging.connection.publish(
                            AMQPMessage(text: "x"), exchange: messaging.topology.eventsExchange, routingKey: long)
                    }
                ),
                (
                    "header name",
                    {
                        try await messaging.connection.publish(
                            AMQPMessage(text: "x", properties: AMQPProperties(headers: ["a": .table([long: .int(1)])])),
                            exchange: messaging.topology.eventsExchange, routingKey: "k")
                    }
                ),
                ("queue name", { _ = try await messaging.connection.queueStatus(long) }),
                (
                    "routing key",
                    {
                        try await messaging.connection.declare(
                            [
                                .bind(
                                    messaging.topology.commandsQueue, to: messaging.topology.eventsExchange,
                                    routingKey: long)
                            ])
                    }
                ),
            ]
            for (what, attempt) in attempts {
                let error = await #expect(throws: AMQPError.self) { try await attempt() }
                #expect(
                    error?.code == .invalidArgument && error?.message.contains("the \(what)") == true,
                    "\(String(describing: error))")
            }
            let batch = await messaging.connection.publish([
                AMQPPublication(AMQPMessage(text: "x"), exchange: messaging.topology.eventsExchange, routingKey: long),
                AMQPPublication(AMQPMessage(text: "y"), exchange: messaging.topology.eventsExchange, routingKey: "k"),
            ])
            #expect((batch[0] as? AMQPError)?.code == .invalidArgument && batch[1] == nil)
            // Still the same connection: nothing was lost or re-established.
            try await messaging.send(.stop(job: "after"))
            #expect(try await messaging.connection.queueStatus(messaging.topology.commandsQueue).messages == 1)
            #expect(try await messaging.connection.queueStatus(probe).messages == 1)
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
