import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

/// Remote partitions across worker processes of the built `swiftbatch`: the demo `count` with `partitions`.
@Suite("Remote partitions end to end", .tags(.endToEnd), .serialized, .timeLimit(.minutes(10)))
struct RemotePartitionEndToEndTests {
    static func executionId(_ reply: Reply) throws -> Int64 {
        guard case .accepted(let id?) = reply else { throw EndToEndError("refused: \(reply)") }
        return id
    }

    static func partitions(_ world: EndToEnd, _ id: Int64) async throws -> [StepExecution] {
        try await world.repository.stepExecutions(jobExecutionId: id).filter {
            $0.stepName.hasPrefix("count-partitions:")
        }
    }

    static let fast = ["--lease", "2", "--heartbeat", "0.5"]

    @Test("the partitions of one job run on two worker processes, each recorded; rows exactly 1…items")
    func twoWorkers() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker(["--concurrency", "2", "--worker-id", "w-one"])
            try await world.startWorker(["--concurrency", "2", "--worker-id", "w-two"])
            let id = try Self.executionId(
                try await world.request(
                    .start("count", parameters: ["items": 2_000, "partitions": 8, "chunkSize": 50, "delayMs": 2])))
            let execution = try await world.finished(id, timeout: .seconds(90))
            #expect(execution.status == .completed, "\(execution.exitMessage)")
            #expect(try await world.countRows(instanceId: execution.instanceId) == (2_000, 2_000))
            let partitions = try await Self.partitions(world, id)
            #expect(partitions.count == 8)
            #expect(partitions.allSatisfy { $0.status == .completed && $0.attempt == 1 })
            #expect(Set(partitions.compactMap(\.workerId)) == ["w-one", "w-two"], "both workers ran partitions")
            let parent = try #require(
                try await world.repository.stepExecutions(jobExecutionId: id).first {
                    $0.stepName == "count-partitions"
                })
            #expect(parent.counters.write == 2_000)
            let shown = try await world.cli(["execution", String(id)])
            #expect(shown.status == 0)
            #expect(shown.output.contains("WORKER") && shown.output.contains("ATTEMPTS"), "\(shown.output)")
            #expect(shown.output.contains("w-one") && shown.output.contains("w-two"))
        }
    }

    @Test("a worker SIGKILLed while it holds partitions: the job still COMPLETES without a restart, exactly once")
    func killedPartitionWorker() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker(Self.fast + ["--concurrency", "1", "--worker-id", "w-manager"])
            let id = try Self.executionId(
                try await world.request(
                    .start("count", parameters: ["items": 800, "partitions": 8, "chunkSize": 10, "delayMs": 10])))
            try await eventually("partitions stored", timeout: .seconds(30), every: .milliseconds(50)) {
                try await Self.partitions(world, id).count == 8
            }
            let doomed = try await world.startWorker(Self.fast + ["--concurrency", "4", "--worker-id", "w-doomed"])
            try await eventually("the doomed worker committed chunks", timeout: .seconds(30), every: .milliseconds(50))
            {
                try await Self.partitions(world, id).contains { $0.workerId == "w-doomed" && $0.counters.commit >= 2 }
            }
            doomed.kill()
            _ = try await doomed.waitForExit(timeout: .seconds(10))
            let execution = try await world.finished(id, timeout: .seconds(120))
            #expect(execution.status == .completed, "\(execution.exitMessage)")
            #expect(try await world.countRows(instanceId: execution.instanceId) == (800, 800))
            let partitions = try await Self.partitions(world, id)
            #expect(partitions.allSatisfy { $0.status == .completed && $0.workerId == "w-manager" })
            #expect(
                partitions.contains { $0.attempt == 2 }, "the lost partitions ran again: \(partitions.map(\.attempt))")
            let executions = try await world.repository.jobExecutions(jobName: "count", limit: 10)
            #expect(executions.count == 1, "no restart")
        }
    }

    @Test(
        "the manager killed: the job FAILED within the lease, its partitions STOPPED, a restart runs the rest exactly")
    func killedManager() async throws {
        try await EndToEnd.with { world in
            let manager = try await world.startWorker(Self.fast + ["--concurrency", "1", "--worker-id", "w-manager"])
            let id = try Self.executionId(
                try await world.request(
                    .start("count", parameters: ["items": 600, "partitions": 6, "chunkSize": 10, "delayMs": 20])))
            try await eventually("partitions stored", timeout: .seconds(30), every: .milliseconds(50)) {
                try await Self.partitions(world, id).count == 6
            }
            try await world.startWorker(Self.fast + ["--concurrency", "2", "--worker-id", "w-runner"])
            try await eventually("the runner committed chunks", timeout: .seconds(30), every: .milliseconds(50)) {
                try await Self.partitions(world, id).contains { $0.workerId == "w-runner" && $0.counters.commit >= 1 }
            }
            manager.kill()
            _ = try await manager.waitForExit(timeout: .seconds(10))
            let killedAt = ContinuousClock.now
            let failed = try await world.finished(id, timeout: .seconds(20))
            #expect(failed.status == .failed)
            #expect(failed.exitMessage.contains("w-manager"))
            #expect(ContinuousClock.now - killedAt < .seconds(10), "within the lease and a sweep or two")
            try await eventually("every partition ended", timeout: .seconds(20), every: .milliseconds(100)) {
                try await Self.partitions(world, id).allSatisfy { $0.status.isFinished }
            }
            let partitions = try await Self.partitions(world, id)
            #expect(
                partitions.allSatisfy { $0.status == .stopped || $0.status == .completed },
                "\(partitions.map(\.status))")
            #expect(partitions.contains { $0.status == .stopped })

            let restartedId = try Self.executionId(try await world.request(.restart(executionId: id)))
            let restarted = try await world.finished(restartedId, timeout: .seconds(90))
            #expect(restarted.status == .completed, "\(restarted.exitMessage)")
            #expect(try await world.countRows(instanceId: failed.instanceId) == (600, 600))
            let rerun = try await Self.partitions(world, restartedId)
            let completedBefore = partitions.filter { $0.status == .completed }.map(\.stepName)
            #expect(
                Set(rerun.map(\.stepName)).isDisjoint(with: completedBefore), "only unfinished partitions ran again")
        }
    }

    @Test("a stop mid-job reaches every partition: all STOPPED (or done) within a chunk; restart completes exactly")
    func stopMidJob() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker(["--concurrency", "2", "--worker-id", "w-one"])
            try await world.startWorker(["--concurrency", "2", "--worker-id", "w-two"])
            let id = try Self.executionId(
                try await world.request(
                    .start("count", parameters: ["items": 4_000, "partitions": 4, "chunkSize": 10, "delayMs": 10])))
            try await eventually("partitions running", timeout: .seconds(30), every: .milliseconds(50)) {
                try await Self.partitions(world, id).filter { $0.counters.commit >= 1 }.count >= 3
            }
            let stoppedAt = ContinuousClock.now
            _ = try await world.request(.stop(executionId: id))
            try await eventually("every partition ended", timeout: .seconds(20), every: .milliseconds(20)) {
                try await Self.partitions(world, id).allSatisfy { $0.status.isFinished }
            }
            #expect(ContinuousClock.now - stoppedAt < .seconds(5), "a chunk is 100 ms; generous for a loaded machine")
            let partitions = try await Self.partitions(world, id)
            #expect(partitions.allSatisfy { $0.status == .stopped }, "\(partitions.map(\.status))")
            let stopped = try await world.finished(id)
            #expect(stopped.status == .stopped)

            let restartedId = try Self.executionId(try await world.request(.restart(executionId: id)))
            #expect(try await world.finished(restartedId, timeout: .seconds(120)).status == .completed)
            #expect(try await world.countRows(instanceId: stopped.instanceId) == (4_000, 4_000))
        }
    }

    @Test(
        "partition messages for an unknown job, or malformed, are dead-lettered with the reason; a named partition FAILS"
    )
    func unknownJobDeadLettered() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker()
            var execution = try await world.repository.createJobExecution(
                jobName: "not-deployed", jobKey: "k", parameters: JobParameters(), workerId: nil)
            execution.status = .started
            execution = try await world.repository.updateJobExecution(execution)
            let step = try await world.repository.createStepExecutions([
                StepExecution(jobExecutionId: execution.id, stepName: "load:p1", startTime: Date(), lastUpdated: Date())
            ])[0]
            for body in [
                #"{"command":"partition","executionId":\#(execution.id),"stepExecutionId":\#(step.id)}"#,
                #"{"command":"partition","executionId":\#(execution.id)}"#,
                #"{"command":"start","job":"hello"}"#,
            ] {
                try await world.messaging.connection.publish(
                    AMQPMessage(text: body, properties: AMQPProperties(contentType: "application/json")),
                    exchange: "", routingKey: world.messaging.topology.partitionsQueue)
            }
            let letters = try await world.deadLetters(3)
            let reasons = letters.map(\.reason)
            #expect(reasons.contains { $0.contains("does not know job 'not-deployed'") }, "\(reasons)")
            #expect(reasons.contains { $0.contains("stepExecutionId") }, "\(reasons)")
            #expect(reasons.contains { $0.contains("only 'partition' messages") }, "\(reasons)")
            // The partition no worker can run ends FAILED with the reason, so that its manager stops waiting.
            let stored = try await world.repository.stepExecution(id: step.id)
            #expect(stored?.status == .failed && stored?.workerId == nil, "nothing was run or claimed")
            #expect(stored?.exitMessage.contains("does not know job 'not-deployed'") == true)
        }
    }

    @Test("more partitioned jobs than slots in the whole fleet: waiting managers hold no slot, all complete")
    func noDeadlock() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker(["--concurrency", "1"])
            try await world.startWorker(["--concurrency", "1"])
            var ids: [Int64] = []
            for items in [200, 201, 202, 203, 204] {
                ids.append(
                    try Self.executionId(
                        try await world.request(
                            .start(
                                "count", parameters: ["items": .int(Int64(items)), "partitions": 3, "chunkSize": 20])
                        )))
            }
            for id in ids {
                let execution = try await world.finished(id, timeout: .seconds(120))
                #expect(execution.status == .completed, "\(execution.exitMessage)")
                let items = execution.parameters.values["items"]?.intValue ?? 0
                #expect(try await world.countRows(instanceId: execution.instanceId) == (items, items))
            }
        }
    }
}
