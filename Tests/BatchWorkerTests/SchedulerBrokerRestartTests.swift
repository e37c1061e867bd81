import Batch
import BatchTestKit
import Foundation
import Testing

/// A publish failure after the claim: the broker stops while a schedule fires every second; the slots fired meanwhile
/// are committed with their starts in the outbox, and once the broker is back every start is sent, exactly once.
/// Restarts RabbitMQ: run alone (scripts/test's disruptive list).
@Suite(.tags(.endToEnd), .serialized, .timeLimit(.minutes(5)))
struct SchedulerBrokerRestartTests {
    static func rabbitmqctl(_ arguments: String...) throws -> Int32 {
        try BatchTestKit.rabbitmqctl(arguments, notFound: EndToEndError("rabbitmqctl not found"))
    }

    @Test("starts fired while the broker is stopped are sent once it is back, each exactly once")
    func startsSurviveABrokerStop() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker()
            try await world.addSchedule("through-restart", ["--job", "hello", "--cron", "* * * * * *"])
            try await eventually("fired", timeout: .seconds(10)) {
                try await world.firings("through-restart").count >= 2
            }
            #expect(try Self.rabbitmqctl("stop_app") == 0)
            var restarted = false
            defer { if !restarted { _ = try? Self.rabbitmqctl("start_app") } }
            try await Task.sleep(for: .seconds(4))
            #expect(try await world.unsentStarts() > 0, "slots fired with the broker stopped wait in the outbox")
            #expect(try Self.rabbitmqctl("start_app") == 0)
            restarted = true
            _ = try? Self.rabbitmqctl("await_startup")
            try await Task.sleep(for: .seconds(3))
            try await world.repository.pool.withConnection { connection in
                try await connection.query(
                    "UPDATE \(world.name).schedules SET paused = true WHERE name = 'through-restart'")
            }
            try await eventually("every start sent", timeout: .seconds(30), every: .milliseconds(200)) {
                try await world.unsentStarts() == 0
            }
            try await eventually("every slot's execution completed", timeout: .seconds(40), every: .milliseconds(200)) {
                try await world.slotOutcomes("through-restart").allSatisfy { $0.completed == 1 }
            }
            let slots = try await world.firings("through-restart").map(\.slot)
            #expect(consecutiveSeconds(slots), "\(slots)")
            for outcome in try await world.slotOutcomes("through-restart") {
                #expect(outcome.instances == 1 && outcome.executions == 1, "slot \(outcome.slot): \(outcome)")
            }
        }
    }
}
