import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

@Suite(.tags(.broker)) struct DeadLetterTests {
    /// Sends a valid stop of `job` after what was published and takes it: it is the first command handed out, so
    /// nothing published before it was.
    static func takeGoodCommand(_ messaging: BatchMessaging, job: String) async throws {
        try await messaging.send(.stop(job: job))
        let commands = try await messaging.commands(prefetch: 10)
        var iterator = commands.makeAsyncIterator()
        let good = try #require(try await iterator.next())
        #expect(good.command == .stop(job: job))
        try good.delivery.ack()
    }

    /// The first `count` messages of the dead-letter queue, in order (unacked).
    static func deadLetters(_ messaging: BatchMessaging, count: Int) async throws -> [AMQPDelivery] {
        let dead = try await messaging.connection.consume(
            queue: messaging.topology.deadLetterQueue, prefetch: UInt16(count))
        var iterator = dead.makeAsyncIterator()
        var letters: [AMQPDelivery] = []
        for _ in 0..<count { letters.append(try #require(try await iterator.next())) }
        return letters
    }

    @Test("a command far over the limit is rejected uncopied and dead-lettered by the broker; the next is read")
    func aHugeCommandIsRejectedBeforeItIsCopied() async throws {
        try await TestBroker.withMessaging { messaging in
            let queue = messaging.topology.commandsQueue
            // 16 times the 64 KiB limit is 1 MiB: 2 MiB is rejected by the connection without being read into Swift.
            let huge = AMQPMessage(
                body: Array(repeating: UInt8(ascii: "x"), count: 2 << 20), properties: AMQPProperties(messageID: "huge")
            )
            try await messaging.connection.publish(huge, exchange: "", routingKey: queue)
            try await Self.takeGoodCommand(messaging, job: "after")
            let letter = try #require(try await Self.deadLetters(messaging, count: 1).first)
            #expect(letter.properties.messageID == "huge" && letter.body.count == 2 << 20)
            let death = letter.properties.headers["x-death"]
            #expect("\(String(describing: death))".contains("rejected"), "\(String(describing: death))")
            try letter.ack()
        }
    }

    @Test func malformedCommandsLandInTheDeadQueueWithTheirReason() async throws {
        try await TestBroker.withMessaging { messaging in
            var generator = SystemRandomNumberGenerator()
            let randomBytes = (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let malformed: [(name: String, body: [UInt8], reason: String)] = [
                ("random", randomBytes, "not JSON"),
                ("truncated", Array(#"{"command":"start","job":"da"#.utf8), "not JSON"),
                (
                    "wrong type", Array(#"{"command":"stop","executionId":"42"}"#.utf8),
                    "must be an integer, found string"
                ),
                ("unknown", Array(#"{"command":"explode","job":"a"}"#.utf8), "unknown command 'explode'"),
                ("huge", Array(String(repeating: "x", count: 1 << 20).utf8), "over the limit of 65536 bytes"),
            ]
            let queue = messaging.topology.commandsQueue
            for (index, item) in malformed.enumerated() {
                try await messaging.connection.publish(
                    AMQPMessage(body: item.body, properties: AMQPProperties(messageID: "bad-\(index)")), exchange: "",
                    routingKey: queue)
            }
            // The valid command comes out; the malformed ones do not.
            try await Self.takeGoodCommand(messaging, job: "good")

            let letters = try await Self.deadLetters(messaging, count: malformed.count)
            for ((index, item), delivery) in zip(malformed.enumerated(), letters) {
                #expect(delivery.properties.messageID == "bad-\(index)", "\(item.name)")
                #expect(delivery.body == item.body, "\(item.name): the body is kept")
                let reason = try #require(delivery.properties.headers["x-batch-reason"]?.stringValue, "\(item.name)")
                #expect(reason.contains(item.reason), "\(item.name): \(reason)")
                #expect(delivery.properties.headers["x-batch-original-queue"]?.stringValue == queue)
                try delivery.ack()
            }
            #expect(try await messaging.connection.queueStatus(queue).messages == 0)
        }
    }

    /// A command whose sender chose its properties: a header table filling the frame, CC into another queue, an
    /// expiration, a user id.
    @Test("a command with hostile properties is dead-lettered with its reason, in bounds, and copied nowhere else")
    func hostilePropertiesAreDeadLetteredInBounds() async throws {
        try await TestBroker.withMessaging { messaging in
            let elsewhere = messaging.topology.commandsQueue + ".elsewhere"
            try await messaging.connection.declare([
                .queue(name: elsewhere, durable: false, exclusive: false, autoDelete: false, arguments: [:])
            ])
            defer { Task { try? await messaging.connection.deleteQueue(elsewhere) } }
            // About 125 KB of headers: the copy with the reason added would no longer fit the broker's frame.
            var headers: [String: AMQPFieldValue] = [:]
            for index in 0..<1_000 {
                headers[String(format: "h%04d", index)] = .string(String(repeating: "x", count: 110))
            }
            headers["CC"] = .array([.string(elsewhere)])
            headers["traceparent"] = .string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
            let properties = AMQPProperties(
                headers: headers, expiration: "600000", messageID: "hostile", userID: "guest")
            try await messaging.connection.publish(
                AMQPMessage(body: Array(#"{"command":"explode"}"#.utf8), properties: properties), exchange: "",
                routingKey: messaging.topology.commandsQueue)
            // The next command still comes through.
            try await Self.takeGoodCommand(messaging, job: "good")

            let delivery = try #require(try await Self.deadLetters(messaging, count: 1).first)
            #expect(delivery.properties.messageID == "hostile")
            #expect(delivery.properties.headers["x-batch-reason"]?.stringValue?.contains("explode") == true)
            #expect(delivery.properties.headers["CC"] == nil)
            #expect(delivery.properties.expiration == nil, "a dead letter does not expire")
            #expect(delivery.properties.userID == nil)
            let kept = delivery.properties.headers.keys.filter { !$0.hasPrefix("x-batch-") && $0 != "x-death" }
            #expect(kept.count <= AMQPProperties.republishedHeaderLimit, "\(kept.count) headers kept")
            #expect(kept.contains("traceparent"), "the trace context is kept before other headers")
            try delivery.ack()
            // The sender's own publish put one copy there; the worker's republish adds none.
            #expect(try await messaging.connection.queueStatus(elsewhere).messages == 1, "no second copy through CC")
        }
    }

    @Test("a retry the broker refuses (its retry queue is gone) dead-letters the command instead of requeueing it")
    func aRefusedRetryDeadLetters() async throws {
        try await TestBroker.withMessaging { messaging in
            try await messaging.connection.deleteQueue(messaging.topology.commandsRetryQueue)
            try await messaging.send(.start("daily"))
            let commands = try await messaging.commands(prefetch: 1)
            var iterator = commands.makeAsyncIterator()
            let incoming = try #require(try await iterator.next())
            try await messaging.retry(incoming.delivery, attempts: CommandAttempts(attempts: 1), after: .seconds(1))
            try await commands.consumer.cancel()
            try await eventually("the command in the dead-letter queue", timeout: .seconds(10)) {
                try await messaging.connection.queueStatus(messaging.topology.deadLetterQueue).messages == 1
            }
            #expect(try await messaging.connection.queueStatus(messaging.topology.commandsQueue).messages == 0)
        }
    }

    @Test func aPlainRejectDeadLettersThroughTheQueueArguments() async throws {
        try await TestBroker.withMessaging { messaging in
            try await messaging.send(.start("unknown-job"))
            let commands = try await messaging.commands(prefetch: 1)
            var iterator = commands.makeAsyncIterator()
            let incoming = try #require(try await iterator.next())
            try incoming.delivery.reject(requeue: false)
            let dead = try await messaging.connection.consume(queue: messaging.topology.deadLetterQueue)
            var deadIterator = dead.makeAsyncIterator()
            let delivery = try #require(try await deadIterator.next())
            #expect(try Command(decoding: delivery.body) == .start("unknown-job"))
            #expect(delivery.properties.headers["x-death"] != nil)
            try delivery.ack()
        }
    }

    @Test func aDeadLetterRecordsWhenAWorkerSetItAsideAndARequeueDropsThatMark() async throws {
        try await TestBroker.withMessaging { messaging in
            try await messaging.send(.start("unknown-job"))
            let commands = try await messaging.commands(prefetch: 1)
            var iterator = commands.makeAsyncIterator()
            let incoming = try #require(try await iterator.next())
            let before = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            try await messaging.deadLetter(incoming.delivery, reason: "no job named unknown-job")
            let after = Date()
            try await commands.consumer.cancel()
            let letter = try #require(try await messaging.deadLetters().first)
            let deadLettered = try #require(letter.deadLettered, "the dead-lettered time is recorded")
            #expect(deadLettered >= before && deadLettered <= after, "\(deadLettered) outside \(before)…\(after)")
            #expect(letter.reason == "no job named unknown-job")

            // Back in the commands queue, it carries no dead-letter marks.
            let id = try #require(letter.id)
            _ = try #require(try await messaging.requeueDeadLetter(id: id))
            var againIterator = try await messaging.commands(prefetch: 1).makeAsyncIterator()
            let again = try #require(try await againIterator.next())
            #expect(again.delivery.properties.headers["x-batch-dead-lettered-at"] == nil)
            #expect(again.delivery.properties.headers["x-batch-reason"] == nil)
            try again.delivery.ack()
        }
    }

    @Test(
        "scans of one process take turns: listings at once each see every letter, a requeue beside them finds its own")
    func concurrentScansTakeTurns() async throws {
        try await TestBroker.withMessaging { messaging in
            for index in 0..<20 { try await messaging.send(.start("unknown-\(index)")) }
            let commands = try await messaging.commands(prefetch: 20)
            var iterator = commands.makeAsyncIterator()
            for _ in 0..<20 {
                let incoming = try #require(try await iterator.next())
                try await messaging.deadLetter(incoming.delivery, reason: "no such job")
            }
            try await commands.consumer.cancel()
            let target = try #require(try await messaging.deadLetters(limit: 1).first?.id)
            let (counts, requeued) = try await withThrowingTaskGroup(of: (Int?, Bool?).self) { group in
                for _ in 0..<6 { group.addTask { (try await messaging.deadLetters(limit: 100).count, nil) } }
                group.addTask { (nil, try await messaging.requeueDeadLetter(id: target) != nil) }
                var counts: [Int] = []
                var requeued: Bool?
                for try await (count, found) in group {
                    if let count { counts.append(count) }
                    if let found { requeued = found }
                }
                return (counts, requeued)
            }
            #expect(requeued == true, "the requeue found its letter")
            #expect(counts.count == 6 && counts.allSatisfy { $0 == 20 || $0 == 19 }, "each listing saw all: \(counts)")
        }
    }

    @Test func anInvalidRequestIsAnsweredWithTheReason() async throws {
        try await TestBroker.withMessaging { messaging in
            let commands = try await messaging.commands(prefetch: 1)
            let pump = Task { for try await incoming in commands { try incoming.delivery.ack() } }
            defer { pump.cancel() }
            // A command the client library would never build: send the raw body with reply_to through a request.
            let reply = try await messaging.request(Command(action: .start, target: .job("")), timeout: .seconds(10))
            guard case .refused(let reason) = reply else {
                Issue.record("expected a refusal, got \(reply)")
                return
            }
            #expect(reason.contains("must not be empty"))
        }
    }
}
