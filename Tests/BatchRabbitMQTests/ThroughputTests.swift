import BatchRabbitMQ
import Foundation
import Synchronization
import Testing

@Suite(.tags(.broker)) struct ThroughputTests {
    @Test func tenThousandPersistentMessagesArriveExactlyOnce() async throws {
        let count = 10_000
        try await TestBroker.withMessaging { messaging in
            let connection = messaging.connection
            let queue = messaging.topology.commandsQueue
            try await withTimeout(.seconds(120), "publishing \(count) messages") {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let lanes = 64
                    for lane in 0..<lanes {
                        group.addTask {
                            for index in stride(from: lane, to: count, by: lanes) {
                                try await connection.publish(
                                    AMQPMessage(text: "message-\(index)"), exchange: "", routingKey: queue)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            #expect(try await connection.queueStatus(queue).messages == count)

            let consumer = try await connection.consume(queue: queue, prefetch: 200)
            let received = try await withTimeout(.seconds(120), "consuming \(count) messages") {
                var received: [Int: Int] = [:]
                var total = 0
                for try await delivery in consumer {
                    let text = String(decoding: delivery.body, as: UTF8.self)
                    let index = Int(text.dropFirst("message-".count)) ?? -1
                    received[index, default: 0] += 1
                    #expect(delivery.properties.persistent)
                    #expect(!delivery.isRedelivered)
                    try delivery.ack()
                    total += 1
                    if total == count { break }
                }
                return received
            }
            #expect(received.count == count)
            #expect(Set(received.keys) == Set(0..<count))
            #expect(received.values.allSatisfy { $0 == 1 })
            // Nothing more arrives and nothing is left.
            try await Task.sleep(for: .milliseconds(300))
            try await consumer.cancel()
            #expect(try await connection.queueStatus(queue).messages == 0)
        }
    }
}
