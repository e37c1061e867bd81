import Batch
import BatchRabbitMQ
import BatchTestKit
import BatchWorker
import Foundation
import Testing

/// The worker's remote partition path on the in-memory twins: the partitions queue, capacity, claims, refusals.
@Suite("Worker remote partitions, in memory")
struct WorkerPartitionUnitTests {
    /// `spread`: 4 remote partitions, each a tasklet recording its name after a short pause.
    static func job(_ ran: Recorder<String>, name: String = "spread", steps: Int = 1) -> Job {
        var list: [any JobStep] = [
            PartitionStep(
                "parts", partitions: 4,
                partitioner: { grid, _ in
                    Dictionary(uniqueKeysWithValues: (1...grid).map { ("p\($0)", ExecutionContext()) })
                },
                step: Step("part") { context in
                    try await Task.sleep(for: .milliseconds(20))
                    ran.append("\(context.jobExecutionId):\(context.partitionName ?? "?")")
                }
            ).remote()
        ]
        for index in 1..<steps { list.append(Step("extra\(index)") { _ in }) }
        return Job(name, steps: list)
    }

    @Test("on one slot, more partitioned jobs than slots all complete: a waiting manager holds no slot")
    func waitingManagerHoldsNoSlot() async throws {
        let ran = Recorder<String>()
        let harness = try WorkerHarness(jobs: [Self.job(ran)], concurrency: 1, takesPartitions: true)
        for n in 1...3 { harness.commands.enqueue(.start("spread", parameters: ["n": .int(Int64(n))])) }
        // A start that found the last slot taken by a partition goes back to the queue and comes again: follow the
        // executions, not the first deliveries.
        try await eventually("three accepted", timeout: .seconds(20)) {
            try await harness.repository.jobExecutions(jobName: "spread", limit: 10).count == 3
        }
        for id in try await harness.repository.jobExecutions(jobName: "spread", limit: 10).map(\.id).sorted() {
            do {
                try await eventually("job \(id) completes", timeout: .seconds(20)) {
                    try await harness.execution(id)?.status == .completed
                }
            } catch {
                let steps = try await harness.repository.stepExecutions(jobExecutionId: id)
                let status = try await harness.execution(id)?.status
                let described: [String] = steps.map { step in
                    let worker: String = step.workerId ?? "-"
                    return step.stepName + " " + step.status.rawValue + " " + worker + " " + String(step.attempt)
                }
                let sources: String =
                    "partitions paused \(harness.partitions.isPaused) pending \(harness.partitions.pendingCount); "
                    + "commands paused \(harness.commands.isPaused) pending \(harness.commands.pendingCount)"
                Issue.record("job \(id): \(String(describing: status)); \(described); \(sources)")
                throw error
            }
            let partitions = try await harness.repository.stepExecutions(jobExecutionId: id).filter {
                $0.stepName.hasPrefix("parts:")
            }
            #expect(partitions.count == 4)
            #expect(partitions.allSatisfy { $0.workerId == "unit-worker" && $0.attempt == 1 })
        }
        #expect(ran.all.count == 12, "every partition ran once: \(ran.all)")
        // Each partition message acked once; a copy that found no slot was handed back before it came again.
        let settlements = harness.partitions.deliveries.map(\.settlement)
        #expect(settlements.filter { $0 == .acked }.count == 12, "\(settlements)")
        #expect(settlements.allSatisfy { $0 == .acked || $0 == .requeued }, "\(settlements)")
        #expect(harness.events.events.contains { $0.routingKey == "step.spread.COMPLETED" }, "step events published")
        _ = try await harness.shutDown().get()
    }

    @Test("a start that finds the last slot taken by a partition waits in the queue, and runs once a slot frees")
    func aStartWithoutASlotWaitsInTheQueue() async throws {
        let gate = Gate()
        let held = Job("held") {
            PartitionStep(
                "parts", partitions: 1, partitioner: { _, _ in ["p1": ExecutionContext()] },
                step: Step("part") { _ in await gate.wait() }
            ).remote()
        }
        let harness = try WorkerHarness(jobs: [held, UnitJobs.hello], concurrency: 1, takesPartitions: true)
        // The manager gives its slot up while it waits; its partition takes it, while the command loop waits for
        // its next command, having seen the slot free.
        let manager = harness.commands.enqueue(.start("held", parameters: [:]))
        try await eventually("the partition runs", timeout: .seconds(10)) {
            harness.partitions.deliveries.first?.settlement == .acked
        }
        let start = harness.commands.enqueue(.start("hello", parameters: [:]))
        // Taken while the loop waited for it (then handed back), or left in the queue by a loop that paused first.
        try await eventually("a full worker pauses its commands", timeout: .seconds(10)) { harness.commands.isPaused }
        try await Task.sleep(for: .milliseconds(300))
        #expect(start.settlement == nil || start.settlement == .requeued, "\(String(describing: start.settlement))")
        #expect(
            try await harness.repository.jobExecutions(jobName: "hello", limit: 1).isEmpty, "not run over the limit")
        gate.open()
        try await eventually("the start runs once the partition ended", timeout: .seconds(10)) {
            try await harness.repository.jobExecutions(jobName: "hello", limit: 1).first?.status == .completed
        }
        let managerId = try WorkerHarness.accepted(manager)
        try await eventually("the manager completes", timeout: .seconds(10)) {
            try await harness.execution(managerId)?.status == .completed
        }
        _ = try await harness.shutDown().get()
    }

    @Test("a partition message for a job this worker does not define, or defines otherwise, is dead-lettered")
    func refusals() async throws {
        let ran = Recorder<String>()
        let repository = InMemoryJobRepository()
        let manager = try WorkerHarness(
            jobs: [Self.job(ran)], repository: repository, concurrency: 1, takesPartitions: false)
        _ = manager
        // A manager elsewhere stored a partition of `spread` defined with an extra step.
        let (other, id, partition) = try await Self.startDiffering(ran, on: repository, dispatchingOn: repository)
        let harness = try WorkerHarness(
            jobs: [Self.job(ran), UnitJobs.hello], repository: repository, concurrency: 1, takesPartitions: true)
        let differs = harness.partitions.enqueue(.partition(executionId: id, stepExecutionId: partition.id))
        let missing = harness.partitions.enqueue(.partition(executionId: id, stepExecutionId: 999_999))
        let wrongKind = harness.partitions.enqueue(.start("hello"))
        try await eventually("all settled", timeout: .seconds(10)) {
            [differs, missing, wrongKind].allSatisfy { $0.settlement != nil }
        }
        guard case .deadLettered(let reason) = differs.settlement else {
            Issue.record("not dead-lettered: \(String(describing: differs.settlement))")
            return
        }
        #expect(reason.contains("differs from its manager's"), "\(reason)")
        guard case .deadLettered(let notFound) = missing.settlement else {
            Issue.record("not dead-lettered: \(String(describing: missing.settlement))")
            return
        }
        #expect(notFound.contains("no step execution 999999"), "\(notFound)")
        guard case .deadLettered(let kind) = wrongKind.settlement else {
            Issue.record("not dead-lettered: \(String(describing: wrongKind.settlement))")
            return
        }
        #expect(kind.contains("only 'partition' messages"), "\(kind)")
        // The partition no worker can run ends FAILED with the reason, and so its manager stops waiting for it.
        let refused = try await repository.stepExecution(id: partition.id)
        #expect(
            refused?.status == .failed && refused?.workerId == nil, "nothing claimed: \(String(describing: refused))")
        #expect(refused?.exitMessage.contains("differs from its manager's") == true)
        #expect(
            harness.events.events.contains { $0.routingKey == "step.spread.FAILED" }, "its step event wakes the manager"
        )
        _ = try await other.stop(.executionId(id))
        _ = try await harness.shutDown().get()
        _ = try await manager.shutDown().get()
    }

    @Test("a partition that cannot run while its FAILED mark cannot be stored is retried, not dead-lettered")
    func refusalWhileTheDatabaseIsAway() async throws {
        struct DatabaseAway: Error {}
        let away = Locked(true)
        let repository = InterceptingRepository(beforeStepUpdate: { step in
            if step.status == .failed, away.value { throw DatabaseAway() }
        })
        let ran = Recorder<String>()
        // The manager defines `spread` with an extra step: this worker's definition differs, so it refuses.
        let (other, id, partition) = try await Self.startDiffering(ran, on: repository, dispatchingOn: repository.base)
        let harness = try WorkerHarness(
            jobs: [Self.job(ran)], repository: repository, concurrency: 1,
            commandRetry: CommandRetryPolicy(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(200)),
            takesPartitions: true)
        let message = harness.partitions.enqueue(.partition(executionId: id, stepExecutionId: partition.id))
        try await eventually("settled") { message.settlement != nil }
        guard case .retried = message.settlement else {
            Issue.record("not retried: \(String(describing: message.settlement))")
            return
        }
        #expect(try await repository.stepExecution(id: partition.id)?.status == .starting, "still waiting")
        away.withLock { $0 = false }
        try await eventually("the copy ends it FAILED and is dead-lettered", timeout: .seconds(10)) {
            harness.partitions.deliveries.contains {
                if case .deadLettered = $0.settlement { return true } else { return false }
            }
        }
        #expect(try await repository.stepExecution(id: partition.id)?.status == .failed)
        _ = try await other.stop(.executionId(id))
        _ = try await harness.shutDown().get()
    }

    @Test("the in-memory registry's lost-worker sweep ends STOPPED the partitions a lost worker holds of ended jobs")
    func inMemoryLostWorkerSweepStopsOrphanedPartitions() async throws {
        let (repository, manager, id, partitions) = try await Self.startLooping()
        let registry = InMemoryWorkerRegistry(repository: repository)
        try await registry.register(workerId: "alive", token: "t", host: "h", pid: 1, capacity: 1, lease: .seconds(10))
        _ = try await repository.claimPartition(stepExecutionId: partitions[0].id, workerId: "gone")
        _ = try await repository.claimPartition(stepExecutionId: partitions[1].id, workerId: "alive")
        _ = try await registry.sweepLostWorkers(lease: .seconds(60))
        #expect(try await repository.stepExecution(id: partitions[0].id)?.status == .started, "its job still runs")
        var job = try #require(try await repository.jobExecution(id: id))
        job.status = .failed
        job.endTime = Date()
        _ = try await repository.updateJobExecution(job)
        _ = try await registry.sweepLostWorkers(lease: .seconds(60))
        #expect(try await repository.stepExecution(id: partitions[0].id)?.status == .stopped, "the lost worker's")
        #expect(try await repository.stepExecution(id: partitions[1].id)?.status == .started, "a live worker's")
        _ = manager
    }

    /// Starts `spread` on a manager elsewhere whose definition has an extra step (so this test's workers refuse its
    /// partitions) and returns once its partition `p1` is stored.
    static func startDiffering(
        _ ran: Recorder<String>, on repository: any JobRepository, dispatchingOn memory: InMemoryJobRepository
    ) async throws -> (manager: JobOperator, id: Int64, partition: StepExecution) {
        let manager = JobOperator(
            registry: try JobRegistry([job(ran, steps: 2)]), repository: repository,
            partitionDispatcher: InMemoryPartitionDispatcher(repository: memory))
        let id = try await manager.startAsync("spread")
        var partition: StepExecution?
        try await eventually("partitions stored") {
            partition = try await repository.stepExecutions(jobExecutionId: id).first { $0.stepName == "parts:p1" }
            return partition != nil
        }
        return (manager, id, partition!)
    }

    /// Starts `looping` on a manager that runs elsewhere (its dispatcher hands the partitions to no one) and
    /// returns once its two partitions are stored.
    static func startLooping() async throws -> (
        repository: InMemoryJobRepository, manager: JobOperator, id: Int64, partitions: [StepExecution]
    ) {
        let repository = InMemoryJobRepository()
        let manager = JobOperator(
            registry: try JobRegistry([UnitJobs.loopingPartitions]), repository: repository,
            partitionDispatcher: InMemoryPartitionDispatcher(repository: repository))
        let id = try await manager.startAsync(UnitJobs.loopingPartitions.name)
        var partitions: [StepExecution] = []
        try await eventually("partitions stored") {
            partitions = try await repository.stepExecutions(jobExecutionId: id).filter { $0.stepName.contains(":") }
            return partitions.count == 2
        }
        return (repository, manager, id, partitions)
    }

    /// Sends `partitions` to `harness`'s worker and waits until it runs them all.
    static func runHere(_ partitions: [StepExecution], of id: Int64, on harness: WorkerHarness) async throws {
        // Once the worker has a heartbeat, so that the manager's lease sweep does not take its claims back.
        try await eventually("the worker registered") { harness.workers.workers["unit-worker"] != nil }
        for partition in partitions {
            harness.partitions.enqueue(.partition(executionId: id, stepExecutionId: partition.id))
        }
        try await eventually("all running here") {
            try await harness.repository.stepExecutions(jobExecutionId: id).filter {
                $0.stepName.contains(":") && $0.status == .started && $0.workerId == "unit-worker"
            }.count == partitions.count
        }
    }

    @Test("a worker shutting down stops its partitions at their next chunk and hands them back to the queue")
    func handBackOnShutdown() async throws {
        let (repository, manager, id, partitions) = try await Self.startLooping()
        let harness = try WorkerHarness(
            jobs: [UnitJobs.loopingPartitions], repository: repository, concurrency: 2, takesPartitions: true)
        try await Self.runHere(partitions, of: id, on: harness)
        _ = try await harness.shutDown().get()
        let after = try await repository.stepExecutions(jobExecutionId: id).filter { $0.stepName.contains(":") }
        #expect(after.allSatisfy { $0.status == .starting && $0.workerId == nil }, "back to waiting: \(after)")
        #expect(after.allSatisfy { $0.attempt == 0 }, "a graceful hand-back is no failed attempt: \(after)")
        #expect(harness.partitions.deliveries.count == 4, "each sent to the queue again")
        #expect(try await repository.jobExecution(id: id)?.status == .started, "the job goes on")
        _ = try await manager.stop(.executionId(id))
        #expect(try await manager.wait(for: id).status == .stopped)
    }

    @Test("a worker that cannot hand a stopped partition back (the queue refuses) leaves it STOPPED, not waiting")
    func handBackThatCannotBeSent() async throws {
        let (repository, _, id, partitions) = try await Self.startLooping()
        let harness = try WorkerHarness(
            jobs: [UnitJobs.loopingPartitions], repository: repository, concurrency: 2, takesPartitions: true)
        try await Self.runHere(partitions, of: id, on: harness)
        harness.events.fail(with: BatchError(.invalidState, "the broker is gone"))
        _ = try await harness.shutDown().get()
        let after = try await repository.stepExecutions(jobExecutionId: id).filter { $0.stepName.contains(":") }
        #expect(after.allSatisfy { $0.status == .stopped && $0.endTime != nil }, "STOPPED: \(after)")
        #expect(after.allSatisfy { $0.exitMessage.contains("could not hand the partition back") }, "\(after)")
        #expect(harness.partitions.deliveries.count == 2, "no message was sent")
        try await eventually("the manager's wait ends", timeout: .seconds(10)) {
            try await repository.jobExecution(id: id)?.status.isFinished == true
        }
    }

    @Test(
        "a partition recorded as this worker's that it does not run (its claim's answer was lost) ends FAILED, with its event"
    )
    func orphanedPartitionFailed() async throws {
        let (repository, manager, id, partitions) = try await Self.startLooping()
        let harness = try WorkerHarness(
            jobs: [UnitJobs.loopingPartitions], repository: repository, concurrency: 2, takesPartitions: true)
        // p1 runs here; p2's claim committed for this worker, but the worker never heard of it. Claimed once the
        // worker has a heartbeat: before, the manager's lease sweep would rightly take p2 back as a lost worker's.
        try await eventually("the worker registered") { harness.workers.workers["unit-worker"] != nil }
        harness.partitions.enqueue(.partition(executionId: id, stepExecutionId: partitions[0].id))
        _ = try await repository.claimPartition(stepExecutionId: partitions[1].id, workerId: "unit-worker")
        try await eventually("the orphan is failed after the grace", timeout: .seconds(10)) {
            try await repository.stepExecution(id: partitions[1].id)?.status == .failed
        }
        let orphan = try await repository.stepExecution(id: partitions[1].id)
        #expect(orphan?.exitMessage.contains("was not running this partition") == true)
        try await eventually("its step event is published") {
            harness.events.events.contains { $0.routingKey == "step.looping.FAILED" }
        }
        #expect(try await repository.stepExecution(id: partitions[0].id)?.status == .started, "the one it runs goes on")
        _ = try await manager.stop(.executionId(id))
        #expect(try await manager.wait(for: id).status == .failed, "the manager saw the FAILED partition")
        _ = try await harness.shutDown().get()
    }
}
