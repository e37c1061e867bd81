import BatchRabbitMQ
import Foundation
import Testing

@Suite(.tags(.broker)) struct TopologyTests {
    @Test func declaringTwiceIsHarmlessAndAMismatchIsAClearError() async throws {
        try await TestBroker.withMessaging { messaging in
            try await messaging.declareTopology()
            let connection = messaging.connection
            let queue = messaging.topology.commandsQueue
            // The same queue without its dead-letter arguments.
            let error = await #expect(throws: AMQPError.self) {
                try await connection.declare([.queue(queue)], redeclareOnReconnect: false)
            }
            #expect(error?.code == .preconditionFailed)
            #expect(error?.replyCode == 406)
            #expect(error?.message.contains("queue '\(queue)'") == true)
            // An exchange of another type.
            let exchangeError = await #expect(throws: AMQPError.self) {
                try await connection.declare(
                    [.exchange(messaging.topology.eventsExchange, type: .fanout)], redeclareOnReconnect: false)
            }
            #expect(exchangeError?.code == .preconditionFailed)
            // The connection goes on.
            try await messaging.send(.stop(job: "after"))
            #expect(try await connection.queueStatus(queue).messages == 1)
        }
    }

    @Test func workerControlQueuesReceiveBroadcasts() async throws {
        try await TestBroker.withMessaging { messaging in
            let first = try await messaging.controlCommands(workerID: "w1")
            let second = try await messaging.controlCommands(workerID: "w2")
            try await messaging.broadcast(.stop(executionId: 9))
            for stream in [first, second] {
                var iterator = stream.makeAsyncIterator()
                let incoming = try #require(try await iterator.next())
                #expect(incoming.command == .stop(executionId: 9))
                try incoming.delivery.ack()
            }
        }
    }

    @Test func aDeletedQueueIsRedeclaredAndConsumedAgain() async throws {
        try await TestBroker.withMessaging { messaging in
            let connection = messaging.connection
            let queue = messaging.topology.commandsQueue
            let consumer = try await connection.consume(queue: queue, prefetch: 1)
            // Another connection deletes the queue: the broker cancels our consumer.
            let other = try await TestBroker.connect()
            try await other.deleteQueue(queue)
            await other.close()
            try await Task.sleep(for: .milliseconds(500))
            try await messaging.send(.stop(job: "again"))
            let delivery = try await withTimeout(.seconds(10), "the consumer resuming") {
                var iterator = consumer.makeAsyncIterator()
                return try await iterator.next()
            }
            #expect(try Command(decoding: try #require(delivery).body) == .stop(job: "again"))
            try delivery?.ack()
        }
    }
}
