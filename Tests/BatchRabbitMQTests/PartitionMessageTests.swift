import Batch
import BatchRabbitMQ
import Foundation
import Testing

@Suite("Partition messages and step events")
struct PartitionMessageTests {
    private func failure(_ text: String) -> String {
        do {
            _ = try Command(decoding: Array(text.utf8))
            return "decoded"
        } catch let error as AMQPError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test("a partition message decodes strictly and round-trips")
    func decodes() throws {
        let command = try Command(
            decoding: Array(#"{"command":"partition","executionId":42,"stepExecutionId":317}"#.utf8))
        #expect(command == .partition(executionId: 42, stepExecutionId: 317))
        #expect(try Command(decoding: command.body) == command)
        #expect(String(decoding: command.body, as: UTF8.self).contains(#""stepExecutionId":317"#))
    }

    @Test("what is wrong with a partition message is said exactly")
    func refusals() {
        #expect(failure(#"{"command":"partition","executionId":42}"#).contains("missing field 'stepExecutionId'"))
        #expect(
            failure(#"{"command":"partition","stepExecutionId":1}"#).contains("missing field 'job' or 'executionId'"))
        #expect(failure(#"{"command":"partition","executionId":1,"stepExecutionId":0}"#).contains("positive"))
        #expect(
            failure(#"{"command":"partition","executionId":1,"stepExecutionId":"1"}"#).contains("must be an integer"))
        #expect(
            failure(#"{"command":"partition","job":"a","executionId":1,"stepExecutionId":1}"#)
                .contains("'executionId' and 'stepExecutionId' only"))
        #expect(
            failure(#"{"command":"stop","executionId":1,"stepExecutionId":1}"#).contains(
                "only allowed with 'partition'"))
        #expect(
            failure(#"{"command":"partition","executionId":1,"stepExecutionId":1,"extra":1}"#).contains(
                "unknown field 'extra'"))
        #expect(
            failure(#"{"command":"partition","executionId":1,"stepExecutionId":99999999999999999999}"#) != "decoded")
        let big =
            #"{"command":"partition","executionId":1,"stepExecutionId":1,"pad":""#
            + String(repeating: "x", count: 70_000) + #""}"#
        #expect(failure(big).contains("over the limit"))
    }

    @Test("a start for a new instance only says so in a header, which a body cannot fake and other commands ignore")
    func newInstanceOnly() throws {
        let command = Command.start("nightly", parameters: ["n": 1], newInstanceOnly: true)
        #expect(command.headers == [Command.newInstanceOnlyHeader: .bool(true)])
        #expect(!String(decoding: command.body, as: UTF8.self).contains("newInstanceOnly"), "the body is a plain start")
        #expect(try Command(decoding: command.body).with(headers: command.headers) == command)
        #expect(try Command(decoding: command.body).newInstanceOnly == false, "without the header, a plain start")
        #expect(Command.start("a").headers.isEmpty)
        let stop = Command.stop(job: "a").with(headers: [Command.newInstanceOnlyHeader: .bool(true)])
        #expect(!stop.newInstanceOnly && stop.headers.isEmpty, "only a start takes it")
        #expect(
            Command.start("a").with(headers: [Command.newInstanceOnlyHeader: .string("true")]).newInstanceOnly == false,
            "only a boolean true")
        // A scheduled start is for a new instance only when each slot is its own instance.
        let slot: [String: JSONValue] = ["scheduledTime": "2026-12-02T02:00:00Z", "date": "2026-12-02"]
        let registry = try JobRegistry([
            Job("slots") { Step("s") { _ in } }, Job("days") { Step("s") { _ in } }.nonIdentifying("scheduledTime"),
        ])
        for (job, expected) in [("slots", true), ("days", false), ("elsewhere", true)] {
            let stored = Command.start(job, parameters: slot).json
            #expect(try Command.scheduledStart(json: stored, registry: registry).newInstanceOnly == expected, "\(job)")
        }
        #expect(failure(#"{"command":"start","job":"a","newInstanceOnly":true}"#).contains("unknown field"))
    }

    @Test("a step event is routed as step.<job>.<STATUS> and carries its step")
    func stepEvents() throws {
        let event = Event.step(
            executionId: 42, jobName: "count", instanceId: 7, stepName: "count-partitions:p01", stepExecutionId: 317,
            status: .completed)
        #expect(event.routingKey == "step.count.COMPLETED")
        let decoded = try Event(decoding: event.body)
        #expect(decoded == event)
        #expect(decoded.stepName == "count-partitions:p01" && decoded.stepExecutionId == 317)
        let job = Event(executionId: 42, jobName: "count", instanceId: 7, status: .started)
        #expect(job.routingKey == "job.count.STARTED")
        #expect(try Event(decoding: job.body).stepName == nil)
    }

    @Test("the partitions queue and its retry queue are declared with the commands' dead-lettering")
    func topology() {
        let topology = BatchTopology(prefix: "t")
        #expect(topology.partitionsQueue == "t.partitions")
        #expect(topology.retryQueue(for: "t.partitions") == "t.partitions.retry")
        #expect(topology.retryQueue(for: "t.commands") == "t.commands.retry")
        #expect(topology.ownQueues.isSuperset(of: ["t.partitions", "t.partitions.retry"]))
        let description = "\(topology.declarations)"
        #expect(description.contains("t.partitions.retry"))
    }
}
