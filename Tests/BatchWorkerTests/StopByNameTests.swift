import Batch
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

/// `swiftbatch stop JOB` reports success when the job ends up stopped, whichever copy of the stop (the broadcast
/// or the queued one) reached a worker first.
@Suite("Stop by name", .tags(.endToEnd), .serialized, .timeLimit(.minutes(3)))
struct StopByNameTests {
    @Test("`swiftbatch stop count` exits 0 every time it stops the running job")
    func stopByNameExitsZero() async throws {
        let world = try await EndToEnd()
        do {
            try await world.startWorker()
            // Before the fix the broadcast stopped the job first and the queued copy was refused about one time in
            // two: five stops in a row all succeed only when none is refused.
            for run in 0..<5 {
                // One-item chunks: the job reaches STOPPED moments after the broadcast copy, before the queued one.
                let parameters: [String: JSONValue] = ["items": 1_000_000, "chunkSize": 1, "run": .int(Int64(run))]
                guard case .accepted(let id?) = try await world.request(.start("count", parameters: parameters)) else {
                    throw EndToEndError("start refused")
                }
                try await eventually("a chunk committed", timeout: .seconds(30), every: .milliseconds(50)) {
                    try await world.repository.stepExecutions(jobExecutionId: id).first?.counters.commit ?? 0 >= 1
                }
                let (status, output) = try await world.cli(["stop", "count"], timeout: .seconds(60))
                #expect(status == 0, "run \(run): \(output)")
                #expect(output.contains("stop requested for execution \(id)"), "run \(run): \(output)")
                #expect(try await world.finished(id).status == .stopped)
            }
        } catch {
            await world.tearDown()
            throw error
        }
        await world.tearDown()
    }

    @Test("`swiftbatch stop count` when nothing runs is still refused, exit 1")
    func stopByNameNothingRunning() async throws {
        let world = try await EndToEnd()
        do {
            try await world.startWorker()
            guard case .accepted(let id?) = try await world.request(.start("count", parameters: ["items": 5])) else {
                throw EndToEndError("start refused")
            }
            #expect(try await world.finished(id).status == .completed)
            let (status, output) = try await world.cli(["stop", "count"], timeout: .seconds(60))
            #expect(status == 1, "\(output)")
            #expect(output.contains("not running"), "\(output)")
        } catch {
            await world.tearDown()
            throw error
        }
        await world.tearDown()
    }
}
