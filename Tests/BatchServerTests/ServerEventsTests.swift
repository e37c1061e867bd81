import Batch
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

/// `GET /api/events`: a job's state changes as server-sent events, filtered by job, with keep-alive comments, and
/// the subscription's queue gone once the client is.
@Suite(.tags(.endToEnd), .timeLimit(.minutes(2)))
struct ServerEventsTests {
    @Test func theStreamDeliversAJobsEventsAndItsQueueGoesWithTheClient() async throws {
        try await ServerWorld.with(serverArguments: ["--keep-alive", "0.2"]) { world in
            let stream = try EventStreamClient(
                port: world.port, path: "/api/events?job=hello", headers: world.authorization)
            defer { stream.close() }
            try await eventually("the stream is open", timeout: .seconds(10), every: .milliseconds(20)) {
                stream.received.contains(": connected")
            }
            #expect(stream.received.hasPrefix("HTTP/1.1 200"))
            #expect(stream.received.lowercased().contains("content-type: text/event-stream"))
            // Another job's events are not this stream's.
            let other = try await world.start("count", #"{"items":3}"#)
            try await world.waitFor(other, status: "COMPLETED")
            let id = try await world.start("hello", #"{"who":"events"}"#)
            let completed = try await eventually(timeout: .seconds(30), every: .milliseconds(20)) {
                stream.events("status").contains { $0.objectValue?["status"]?.stringValue == "COMPLETED" }
            }
            #expect(completed, "no COMPLETED event in:\n\(stream.received.suffix(3000))")
            let events = stream.events("status")
            #expect(events.allSatisfy { $0.objectValue?["jobName"]?.stringValue == "hello" })
            #expect(events.allSatisfy { $0.objectValue?["executionId"]?.intValue == id })
            let statuses = events.compactMap { $0.objectValue?["status"]?.stringValue }
            #expect(statuses.contains("STARTED"))
            // Progress reports (`progress.<job>`) pass through as `event: progress`, one line each; another job's
            // and a body that is not JSON do not.
            for (key, body) in [
                ("progress.count", #"{"jobName":"count","executionId":1,"read":1}"#),
                ("progress.hello", "not json"),
                ("progress.hello", "{\n\"jobName\": \"hello\", \"executionId\": \(id), \"read\": 7\n}"),
            ] {
                try await world.messaging.connection.publish(
                    AMQPMessage(text: body, properties: AMQPProperties(contentType: "application/json")),
                    exchange: world.messaging.topology.eventsExchange, routingKey: key)
            }
            try await eventually("the progress event", timeout: .seconds(10), every: .milliseconds(20)) {
                !stream.events("progress").isEmpty
            }
            #expect(stream.events("progress") == [["jobName": "hello", "executionId": .int(id), "read": 7]])
            try await eventually("a keep-alive comment", timeout: .seconds(30), every: .milliseconds(20)) {
                stream.received.contains(": keep-alive")
            }
            // The client goes away: the server notices at its next write and deletes the queue.
            let queue = try #require(
                world.server.output.components(separatedBy: "\n").first { $0.contains("event stream opened") }?
                    .components(separatedBy: "queue=").last?.components(separatedBy: " ").first)
            // Exclusive to the server's connection: another connection may not look, but learns that it exists.
            #expect(try await Self.lookUp(queue, world) == .resourceLocked)
            stream.close()
            try await eventually("the queue is deleted", timeout: .seconds(10), every: .milliseconds(50)) {
                try await Self.lookUp(queue, world) == .notFound
            }
            // The queue is deleted just before the line is logged, and the output reaches us through a pipe.
            try await eventually("the stream's close is logged", timeout: .seconds(5), every: .milliseconds(20)) {
                world.server.output.contains("event stream closed")
            }
        }
    }

    @Test func aRunningStepsProgressReachesTheStream() async throws {
        try await ServerWorld.with { world in
            let stream = try EventStreamClient(
                port: world.port, path: "/api/events?job=count", headers: world.authorization)
            defer { stream.close() }
            try await eventually("the stream is open", timeout: .seconds(10), every: .milliseconds(20)) {
                stream.received.contains(": connected")
            }
            // 60 items of 50 ms: about 3 s of work, so the step reports its progress (at most once a second).
            let id = try await world.start("count", #"{"items":60,"delayMs":50,"chunkSize":5}"#)
            try await eventually("a progress event", timeout: .seconds(30), every: .milliseconds(20)) {
                !stream.events("progress").isEmpty
            }
            let progress = try #require(stream.events("progress").first?.objectValue)
            #expect(progress["jobName"]?.stringValue == "count")
            #expect(progress["executionId"]?.intValue == id)
            try await world.waitFor(id, status: "COMPLETED")
        }
    }

    @Test func sigtermEndsOpenStreamsAndTheServerExits() async throws {
        try await ServerWorld.with(workers: 0) { world in
            let stream = try EventStreamClient(port: world.port, path: "/api/events", headers: world.authorization)
            defer { stream.close() }
            try await eventually("the stream is open", timeout: .seconds(10), every: .milliseconds(20)) {
                stream.received.contains(": connected")
            }
            world.server.terminate()
            let status = try await world.server.exitStatus(within: .seconds(5))
            #expect(status == 0, "the server did not exit within 5 s of SIGTERM with a client on the event stream")
        }
    }

    /// What the broker answers when another connection looks the queue up.
    @Test func eventStreamsAreBoundedAndASlotComesBackWithItsClient() async throws {
        try await ServerWorld.with(serverArguments: ["--max-event-streams", "1", "--keep-alive", "0.2"]) { world in
            let first = try EventStreamClient(port: world.port, path: "/api/events", headers: world.authorization)
            defer { first.close() }
            try await eventually("the first stream is open", timeout: .seconds(10), every: .milliseconds(20)) {
                first.received.contains(": connected")
            }
            let refused = try await world.get("/api/events")
            #expect(refused.status == 503)
            #expect(refused.text.contains("too many event streams are open (at most 1)"))
            // The API still answers, and the slot comes back once the first client is gone.
            #expect(try await world.get("/api/jobs").status == 200)
            // The server notices the client gone at its next write (a keep-alive every 0.2 s here).
            first.close()
            try await eventually("a new stream is let in", timeout: .seconds(15), every: .milliseconds(100)) {
                let stream = try EventStreamClient(port: world.port, path: "/api/events", headers: world.authorization)
                defer { stream.close() }
                let deadline = ContinuousClock.now + .seconds(2)
                while ContinuousClock.now < deadline, !stream.received.contains("\r\n\r\n") {
                    try await Task.sleep(for: .milliseconds(20))
                }
                return stream.received.hasPrefix("HTTP/1.1 200")
            }
        }
    }

    static func lookUp(_ queue: String, _ world: ServerWorld) async throws -> AMQPError.Code? {
        do {
            _ = try await world.messaging.connection.queueStatus(queue)
            return nil
        } catch let error as AMQPError {
            return error.code
        }
    }
}
