import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

@Suite(.tags(.broker)) struct PauseResumeTests {
    @Test func aPausedConsumerHoldsNoMoreThanItTookAndNeverMoreThanPrefetch() async throws {
        try await TestBroker.withMessaging { messaging in
            let connection = messaging.connection
            let queue = messaging.topology.commandsQueue
            let total = 30
            let prefetch: UInt16 = 5
            for index in 0..<total {
                try await connection.publish(AMQPMessage(text: "\(index)"), exchange: "", routingKey: queue)
            }
            let consumer = try await connection.consume(queue: queue, prefetch: prefetch)
            var iterator = consumer.makeAsyncIterator()
            var held: [AMQPDelivery] = []
            for _ in 0..<3 { held.append(try #require(try await iterator.next())) }
            // The broker sent exactly `prefetch` ahead: 3 taken, 2 buffered, the rest ready.
            #expect(
                try await eventually(every: .milliseconds(50)) {
                    try await connection.queueStatus(queue).messages == total - Int(prefetch)
                })
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await connection.queueStatus(queue).messages == total - Int(prefetch))

            try await consumer.pause()
            // The 2 buffered went back; only the 3 taken are held.
            #expect(
                try await eventually(every: .milliseconds(50)) {
                    try await connection.queueStatus(queue).messages == total - 3
                })
            let nothing = try? await withTimeout(.milliseconds(500), "a delivery while paused") {
                var iterator = consumer.makeAsyncIterator()
                return try await iterator.next()
            }
            #expect(nothing == nil, "no delivery arrives while paused")
            for delivery in held { try delivery.ack() }
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await connection.queueStatus(queue).messages == total - 3)

            try await consumer.resume()
            var seen = Set(held.map { String(decoding: $0.body, as: UTF8.self) })
            var maximumHeld = 0
            while seen.count < total {
                let delivery = try #require(try await iterator.next())
                let ready = try await connection.queueStatus(queue).messages
                let acked = seen.count
                maximumHeld = max(maximumHeld, total - ready - acked)
                seen.insert(String(decoding: delivery.body, as: UTF8.self))
                try delivery.ack()
            }
            #expect(maximumHeld <= Int(prefetch))
            #expect(seen == Set((0..<total).map(String.init)))
        }
    }
}
