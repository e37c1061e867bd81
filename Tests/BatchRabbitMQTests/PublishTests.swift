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
            // It still holding its message at the end shows that the connection was never lost.
            let probe = try await TestBroker.connectionProbe(messaging)
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

    @Test("headers nested 2,000 levels deep arrive cut at eight levels; the connection goes on")
    func deeplyNestedHeadersAreCut() async throws {
        try await TestBroker.withMessaging { messaging in
            let queue = messaging.topology.commandsQueue
            var nested = AMQPFieldValue.string("bottom")
            for level in 0..<2_000 { nested = level % 2 == 0 ? .table(["t": nested]) : .array([nested]) }
            try await messaging.connection.publish(
                AMQPMessage(text: "deep", properties: AMQPProperties(headers: ["deep": nested, "flat": .int(1)])),
                exchange: "", routingKey: queue)
            let consumer = try await messaging.connection.consume(queue: queue, prefetch: 1)
            var iterator = consumer.makeAsyncIterator()
            let delivery = try #require(try await iterator.next())
            try delivery.ack()
            #expect(delivery.message.properties.headers["flat"] == .int(1))
            func depth(_ value: AMQPFieldValue) -> Int {
                switch value {
                case .table(let table): 1 + (table.values.map(depth).max() ?? 0)
                case .array(let values): 1 + (values.map(depth).max() ?? 0)
                default: 0
                }
            }
            let received = try #require(delivery.message.properties.headers["deep"])
            #expect(depth(received) <= 8)
            try await consumer.close()
            try await messaging.send(.stop(job: "after"))
            #expect(try await messaging.connection.queueStatus(queue).messages == 1)
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
