import Batch
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Synchronization
import Testing

@Suite(.tags(.broker)) struct RoundTripTests {
    @Test func everyCommandTravelsIntact() async throws {
        try await TestBroker.withMessaging { messaging in
            let commands: [Command] = [
                .start("daily", parameters: ["date": "2026-11-25", "n": 3]), .stop(job: "daily"),
                .stop(executionId: 42), .restart(job: "daily"), .restart(executionId: 43), .abandon(executionId: 44),
                .start("nightly", parameters: ["scheduledTime": "2026-12-02T02:00:00Z"], newInstanceOnly: true),
            ]
            for command in commands { try await messaging.send(command) }
            let stream = try await messaging.commands(prefetch: 10)
            var received: [Command] = []
            var iterator = stream.makeAsyncIterator()
            while received.count < commands.count, let incoming = try await iterator.next() {
                #expect(incoming.delivery.properties.contentType == "application/json")
                #expect(incoming.delivery.properties.persistent)
                received.append(incoming.command)
                try incoming.delivery.ack()
            }
            #expect(received == commands)
        }
    }

    @Test func aRequestGetsItsReply() async throws {
        try await TestBroker.withMessaging { messaging in
            let stream = try await messaging.commands(prefetch: 4)
            let responder = Task {
                for try await incoming in stream {
                    let reply: Reply =
                        switch incoming.command.target {
                        case .job(let name) where name == "missing": .refused("no job named 'missing'")
                        case .job: .accepted(executionId: 42)
                        case .execution(let id): .accepted(executionId: id)
                        }
                    try await messaging.reply(reply, to: incoming.delivery)
                    try incoming.delivery.ack()
                }
            }
            defer { responder.cancel() }
            #expect(try await messaging.request(.start("daily"), timeout: .seconds(10)) == .accepted(executionId: 42))
            #expect(
                try await messaging.request(.stop(executionId: 7), timeout: .seconds(10)) == .accepted(executionId: 7))
            #expect(
                try await messaging.request(.start("missing"), timeout: .seconds(10))
                    == .refused("no job named 'missing'"))
        }
    }

    @Test func aRequestNobodyAnswersTimesOut() async throws {
        try await TestBroker.withMessaging { messaging in
            let error = await #expect(throws: AMQPError.self) {
                try await messaging.request(.start("daily"), timeout: .milliseconds(300))
            }
            #expect(error?.code == .timeout)
        }
    }

    @Test("a request with a timeout of zero times out, however its timer and its registration interleave")
    func aZeroTimeoutTimesOut() async throws {
        try await TestBroker.withMessaging { messaging in
            let outcomes = Mutex<[AMQPError.Code?]>([])
            // Unstructured, so that a call that never ends fails the wait below instead of hanging the test.
            let calls = Task {
                for _ in 0..<20 {
                    do {
                        _ = try await messaging.request(.start("daily"), timeout: .zero)
                        outcomes.withLock { $0.append(nil) }
                    } catch {
                        outcomes.withLock { $0.append((error as? AMQPError)?.code) }
                    }
                }
            }
            defer { calls.cancel() }
            try await eventually("20 calls ended", timeout: .seconds(15)) { outcomes.withLock { $0.count == 20 } }
            #expect(outcomes.withLock { $0 } == Array(repeating: .timeout, count: 20))
        }
    }

    @Test func eventsReachSubscribersByRoutingKey() async throws {
        try await TestBroker.withMessaging { messaging in
            let all = try await messaging.events(matching: "job.#")
            let failures = try await messaging.events(matching: "job.*.FAILED")
            let events = [
                Event(executionId: 1, jobName: "daily", instanceId: 1, status: .started),
                Event(executionId: 1, jobName: "daily", instanceId: 1, status: .failed, exitMessage: "boom"),
                Event(executionId: 2, jobName: "weekly", instanceId: 5, status: .completed),
            ]
            for event in events { try await messaging.publish(event) }
            var allIterator = all.makeAsyncIterator()
            var seen: [Event] = []
            for _ in events { if let event = try await allIterator.next() { seen.append(event) } }
            #expect(seen == events)
            var failureIterator = failures.makeAsyncIterator()
            #expect(try await failureIterator.next() == events[1])
        }
    }
}
