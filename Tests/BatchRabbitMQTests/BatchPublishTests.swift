import Batch
import BatchRabbitMQ
import Foundation
import Testing

/// Publishing many messages in one hand-over: every outcome in its place, the messages in order.
@Suite(.tags(.broker)) struct BatchPublishTests {
    @Test func eachPublicationGetsItsOwnOutcomeAndTheQueueReceivesThemInOrder() async throws {
        try await TestBroker.withMessaging { messaging in
            let queue = messaging.topology.commandsQueue
            let exchange = messaging.topology.eventsExchange
            var publications = (0..<50).map {
                AMQPPublication(AMQPMessage(text: "m\($0)"), exchange: "", routingKey: queue)
            }
            // A mandatory message no queue takes is refused in its own place, the others still confirmed.
            publications.insert(
                AMQPPublication(AMQPMessage(text: "lost"), exchange: exchange, routingKey: "nowhere", mandatory: true),
                at: 20)
            let outcomes = await messaging.connection.publish(publications)
            #expect(outcomes.count == 51)
            #expect((outcomes[20] as? AMQPError)?.code == .publishReturned)
            #expect(outcomes.enumerated().allSatisfy { $0.offset == 20 || $0.element == nil })

            let consumer = try await messaging.connection.consume(queue: queue, prefetch: 100)
            var bodies: [String] = []
            for try await delivery in consumer {
                bodies.append(String(decoding: delivery.message.body, as: UTF8.self))
                try delivery.ack()
                if bodies.count == 50 { break }
            }
            #expect(bodies == (0..<50).map { "m\($0)" })
            #expect(await messaging.connection.publish([]).isEmpty)
        }
    }

    @Test func eventsPublishedAsABatchReachSubscribersInOrder() async throws {
        try await TestBroker.withMessaging { messaging in
            let stream = try await messaging.events(matching: "job.batch.#")
            let time = Date(timeIntervalSince1970: 1_800_000_000)
            let statuses: [BatchStatus] = [.starting, .started, .completed]
            let events = statuses.map {
                Event(executionId: 7, jobName: "batch", instanceId: 3, status: $0, exitMessage: nil, time: time)
            }
            let outcomes = await messaging.publish(events)
            #expect(outcomes.allSatisfy { $0 == nil })
            var received: [BatchStatus] = []
            for try await event in stream {
                received.append(event.status)
                if received.count == 3 { break }
            }
            #expect(received == statuses)
        }
    }

    @Test func aClosedConnectionRefusesEveryPublication() async throws {
        let connection = try await TestBroker.connect()
        await connection.close()
        let outcomes = await connection.publish([
            AMQPPublication(AMQPMessage(text: "a"), exchange: "", routingKey: "x"),
            AMQPPublication(AMQPMessage(text: "b"), exchange: "", routingKey: "x"),
        ])
        #expect(outcomes.count == 2)
        #expect(outcomes.allSatisfy { ($0 as? AMQPError)?.code == .closed })
    }
}
