import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

@Suite(.tags(.broker)) struct RedeliveryTests {
    @Test func unackedDeliveriesOfAClosedConsumerComeBackRedelivered() async throws {
        try await TestBroker.withMessaging { messaging in
            let queue = messaging.topology.commandsQueue
            for index in 0..<5 {
                try await messaging.connection.publish(AMQPMessage(text: "m\(index)"), exchange: "", routingKey: queue)
            }
            // A second connection plays the worker that dies holding its deliveries.
            let doomed = try await TestBroker.connect()
            let consumer = try await doomed.consume(queue: queue, prefetch: 10)
            var iterator = consumer.makeAsyncIterator()
            var held: [String] = []
            for _ in 0..<5 {
                let delivery = try #require(try await iterator.next())
                #expect(!delivery.isRedelivered)
                held.append(String(decoding: delivery.body, as: UTF8.self))
            }
            await doomed.close()

            let survivor = try await messaging.connection.consume(queue: queue, prefetch: 10)
            var again: [String] = []
            var survivorIterator = survivor.makeAsyncIterator()
            for _ in 0..<5 {
                let delivery = try #require(try await survivorIterator.next())
                #expect(delivery.isRedelivered)
                again.append(String(decoding: delivery.body, as: UTF8.self))
                try delivery.ack()
            }
            #expect(again.sorted() == held.sorted())
        }
    }

    @Test("closing a consumer with thousands of deliveries in flight keeps the connection; all are requeued")
    func closingABusyConsumerKeepsTheConnection() async throws {
        try await TestBroker.withMessaging { messaging in
            let queue = messaging.topology.commandsQueue
            let count = 3_000
            let body = String(repeating: "x", count: 512)
            for start in stride(from: 0, to: count, by: 500) {
                let batch = (start..<min(start + 500, count)).map { _ in
                    AMQPPublication(AMQPMessage(text: body), exchange: "", routingKey: queue)
                }
                #expect(await messaging.connection.publish(batch).allSatisfy { $0 == nil })
            }
            let probe = try await TestBroker.connectionProbe(messaging)
            for _ in 0..<3 {
                // The broker sends thousands at once; the consumer closes at the first, with the rest on the wire.
                let consumer = try await messaging.connection.consume(queue: queue, prefetch: UInt16(count))
                var iterator = consumer.makeAsyncIterator()
                _ = try #require(try await iterator.next())
                try await consumer.close()
            }
            #expect(try await messaging.connection.queueStatus(probe).messages == 0)
            try await eventually("every message back in the queue", timeout: .seconds(20), every: .milliseconds(50)) {
                try await messaging.connection.queueStatus(queue).messages == count
            }
        }
    }

    @Test func closingOnlyTheConsumerRequeuesToo() async throws {
        try await TestBroker.withMessaging { messaging in
            let queue = messaging.topology.commandsQueue
            try await messaging.connection.publish(AMQPMessage(text: "only"), exchange: "", routingKey: queue)
            let consumer = try await messaging.connection.consume(queue: queue, prefetch: 1)
            var iterator = consumer.makeAsyncIterator()
            let first = try #require(try await iterator.next())
            try await consumer.close()
            #expect(try await iterator.next() == nil)
            // The ack of a delivery from the closed channel is dropped, not sent to a reopened one.
            try first.ack()
            let next = try await messaging.connection.consume(queue: queue, prefetch: 1)
            var nextIterator = next.makeAsyncIterator()
            let again = try #require(try await nextIterator.next())
            #expect(again.isRedelivered)
            #expect(throws: AMQPError.self) { try first.ack() }
            try again.ack()
        }
    }
}
