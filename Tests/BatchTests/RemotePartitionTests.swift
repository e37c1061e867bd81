import Batch
import BatchTestKit
import Foundation
import Testing

@Suite("Remote partition steps (in-memory fleet)")
struct RemotePartitionTests {
    /// Writes 1...400 in 4 remote partitions of 100 numbers, chunks of 25.
    static func job(written: Recorder<Int>, name: String = "remote-sums", extraStep: Bool = false) -> Job {
        var steps: [any JobStep] = [
            sumsStep(partitions: 4, processor: { n in n }) { _ in
                ClosureItemWriter<Int> { written.append(contentsOf: $0) }
            }.remote()
        ]
        if extraStep { steps.append(Step("after") { _ in }) }
        return Job(name, steps: steps)
    }

    struct Fleet {
        let manager: JobOperator
        let workers: [JobOperator]
        let dispatcher: InMemoryPartitionDispatcher
        let repository: InMemoryJobRepository
    }

    static func fleet(
        _ job: Job, workerJob: Job? = nil, maxAttempts: Int = 3,
        loses: @escaping @Sendable (String, Int) -> Bool = { _, _ in false }
    ) throws -> Fleet {
        let repository = InMemoryJobRepository()
        let dispatcher = InMemoryPartitionDispatcher(repository: repository, maxAttempts: maxAttempts, loses: loses)
        let manager = JobOperator(
            registry: try JobRegistry([job]), repository: repository, workerId: "manager", logger: quietLogger,
            partitionDispatcher: dispatcher)
        let workers = try (0..<2).map { _ in
            JobOperator(registry: try JobRegistry([workerJob ?? job]), repository: repository, logger: quietLogger)
        }
        dispatcher.attach(workers)
        return Fleet(manager: manager, workers: workers, dispatcher: dispatcher, repository: repository)
    }

    @Test("the partitions run on the fleet's workers, recorded on each, and are aggregated as local ones")
    func runsOnWorkers() async throws {
        let written = Recorder<Int>()
        let fleet = try Self.fleet(Self.job(written: written))
        let execution = try await fleet.manager.start("remote-sums")
        #expect(execution.status == .completed)
        #expect(written.all.sorted() == Array(1...400), "every item exactly once")
        let steps = try await fleet.manager.execution(execution.id).steps
        let partitions = steps.filter { $0.stepName.hasPrefix("sum:") }
        #expect(partitions.count == 4)
        #expect(partitions.allSatisfy { $0.status == .completed && $0.attempt == 1 })
        #expect(Set(partitions.compactMap(\.workerId)) == ["memory-worker-0", "memory-worker-1"])
        let parent = try #require(steps.first { $0.stepName == "sum" })
        #expect(parent.counters.write == 400 && parent.counters.commit == 16, "counters added up: \(parent.counters)")
        #expect(parent.workerId == nil, "the partitioned step itself runs on the manager")
        #expect(fleet.dispatcher.dispatched.count == 4, "one message per partition")
        #expect(
            fleet.dispatcher.waitingCalls.map(\.waiting) == [true, false],
            "the manager gives its slot up while waiting, and takes it back")
    }

    @Test("a lost worker's partition is sent again and resumes; the job completes without a restart")
    func lostWorkerPartitionResent() async throws {
        let written = Recorder<Int>()
        let fleet = try Self.fleet(Self.job(written: written)) { stepName, attempt in
            stepName == "sum:p2" && attempt == 1
        }
        let execution = try await fleet.manager.start("remote-sums")
        #expect(execution.status == .completed)
        #expect(written.all.sorted() == Array(1...400))
        let steps = try await fleet.manager.execution(execution.id).steps
        let p2 = try #require(steps.first { $0.stepName == "sum:p2" })
        #expect(p2.attempt == 2, "the second attempt ran it")
        #expect(p2.workerId?.hasPrefix("memory-worker") == true)
        #expect(fleet.dispatcher.dispatched.filter { $0.stepExecutionId == p2.id }.count == 2, "sent twice")
    }

    @Test("past the attempt limit the partition ends FAILED and so does the job; a restart runs only it")
    func attemptLimit() async throws {
        let written = Recorder<Int>()
        let losing = Locked(true)
        let fleet = try Self.fleet(Self.job(written: written), maxAttempts: 2) { stepName, _ in
            stepName == "sum:p1" && losing.value
        }
        let failed = try await fleet.manager.start("remote-sums")
        #expect(failed.status == .failed)
        let steps = try await fleet.manager.execution(failed.id).steps
        let p1 = try #require(steps.first { $0.stepName == "sum:p1" })
        #expect(p1.status == .failed && p1.attempt == 2)
        #expect(p1.exitMessage.contains("attempt 2 of 2"), "says why: \(p1.exitMessage)")
        #expect(written.all.count == 300)

        losing.withLock { $0 = false }
        let restarted = try await fleet.manager.restart(.executionId(failed.id))
        #expect(restarted.status == .completed)
        #expect(written.all.sorted() == Array(1...400), "only the failed partition ran again")
        let rerun = try await fleet.manager.execution(restarted.id).steps.filter { $0.stepName.hasPrefix("sum:") }
        #expect(rerun.map(\.stepName) == ["sum:p1"])
    }

    @Test("without a dispatcher a remote step runs its partitions locally")
    func localWithoutDispatcher() async throws {
        let written = Recorder<Int>()
        let jobOperator = try makeOperator(Self.job(written: written))
        let execution = try await jobOperator.start("remote-sums")
        #expect(execution.status == .completed)
        #expect(written.all.sorted() == Array(1...400))
        let partitions = try await jobOperator.execution(execution.id).steps.filter { $0.stepName.hasPrefix("sum:") }
        #expect(partitions.count == 4 && partitions.allSatisfy { $0.workerId == nil && $0.attempt == 0 })
    }

    @Test("a worker whose definition differs, or that does not know the job, refuses the partition")
    func mismatchedDefinitions() async throws {
        let written = Recorder<Int>()
        let other = Self.job(written: written, extraStep: true)
        let fleet = try Self.fleet(Self.job(written: written), workerJob: other)
        let id = try await fleet.manager.startAsync("remote-sums")
        var found: StepExecution?
        try await eventually("the partitions are stored") {
            found = try await fleet.manager.execution(id).steps.first { $0.stepName.hasPrefix("sum:") }
            return found != nil
        }
        let partition = try #require(found)
        await #expect {
            _ = try await fleet.workers[0].checkPartition(stepExecutionId: partition.id, jobExecutionId: id)
        } throws: { error in
            (error as? BatchError)?.code == .invalidDefinition
                && (error as? BatchError)?.message.contains("differs from its manager's") == true
        }
        let stranger = JobOperator(
            registry: try JobRegistry([Job("else") { Step("x") { _ in } }]), repository: fleet.repository,
            logger: quietLogger)
        await #expect {
            _ = try await stranger.checkPartition(stepExecutionId: partition.id, jobExecutionId: id)
        } throws: { error in
            (error as? BatchError)?.code == .jobNotFound
                && (error as? BatchError)?.message.contains("does not know job 'remote-sums'") == true
        }
        _ = try await fleet.manager.stop(.executionId(id))
        let stopped = try await fleet.manager.wait(for: id)
        #expect(stopped.status == .stopped, "no worker took them: the stop ends the waiting partitions")
        let partitions = try await fleet.manager.execution(id).steps.filter { $0.stepName.hasPrefix("sum:") }
        #expect(partitions.allSatisfy { $0.status == .stopped })
    }

    @Test("a stopping job whose partitions' worker is lost: they end STOPPED and the manager's wait ends")
    func lostWorkerWhileStopping() async throws {
        let written = Recorder<Int>()
        // No worker attached: the partitions wait until this test claims them for "w1".
        let repository = InMemoryJobRepository()
        let dispatcher = InMemoryPartitionDispatcher(repository: repository)
        let manager = JobOperator(
            registry: try JobRegistry([Self.job(written: written)]), repository: repository, workerId: "manager",
            logger: quietLogger, partitionDispatcher: dispatcher)
        let fleet = Fleet(manager: manager, workers: [], dispatcher: dispatcher, repository: repository)
        let id = try await fleet.manager.startAsync("remote-sums")
        var partitions: [StepExecution] = []
        try await eventually("the partitions are stored") {
            partitions = try await fleet.repository.stepExecutions(jobExecutionId: id).filter {
                $0.stepName.hasPrefix("sum:")
            }
            return partitions.count == 4
        }
        fleet.repository.recordHeartbeat(workerId: "w1")
        for partition in partitions {
            _ = try await fleet.repository.claimPartition(stepExecutionId: partition.id, workerId: "w1")
        }
        _ = try await fleet.manager.stop(.executionId(id))
        #expect(try await fleet.repository.jobExecution(id: id)?.status == .stopping)
        fleet.repository.removeHeartbeat(workerId: "w1")  // w1 dies before its partitions could stop
        try await eventually("the manager's wait ends", timeout: .seconds(10)) {
            try await fleet.repository.jobExecution(id: id)?.status.isFinished == true
        }
        #expect(try await fleet.repository.jobExecution(id: id)?.status == .stopped)
        let ended = try await fleet.repository.stepExecutions(jobExecutionId: id).filter {
            $0.stepName.hasPrefix("sum:")
        }
        #expect(ended.allSatisfy { $0.status == .stopped && $0.exitMessage.contains("w1") }, "\(ended)")
        #expect(fleet.dispatcher.dispatched.count == 4, "nothing sent again for a stopping job")
    }

    @Test("a partition no worker takes is sent again, waiting twice as long each time; a claimed one is not")
    func waitingPartitionsAreSentAgain() async throws {
        let written = Recorder<Int>()
        let repository = InMemoryJobRepository()
        let dispatcher = InMemoryPartitionDispatcher(repository: repository, resendAfter: .milliseconds(100))
        let manager = JobOperator(
            registry: try JobRegistry([Self.job(written: written)]), repository: repository, workerId: "manager",
            logger: quietLogger, partitionDispatcher: dispatcher)
        let started = ContinuousClock.now
        let id = try await manager.startAsync("remote-sums")
        func sends(_ stepExecutionId: Int64) -> Int {
            dispatcher.dispatched.filter { $0.stepExecutionId == stepExecutionId }.count
        }
        var partitions: [StepExecution] = []
        try await eventually("every partition sent twice", timeout: .seconds(10)) {
            partitions = try await repository.stepExecutions(jobExecutionId: id).filter {
                $0.stepName.hasPrefix("sum:")
            }
            return partitions.count == 4 && partitions.allSatisfy { sends($0.id) >= 2 }
        }
        repository.recordHeartbeat(workerId: "w1")
        guard
            case .claimed(var taken) = try await repository.claimPartition(
                stepExecutionId: partitions[0].id, workerId: "w1")
        else { throw BatchError(.invalidState, "the waiting partition could not be claimed") }
        let takenSends = sends(taken.id)
        let before = sends(partitions[1].id)
        try await eventually("a waiting one is sent again", timeout: .seconds(10)) { sends(partitions[1].id) > before }
        #expect(
            sends(taken.id) <= takenSends + 1, "a claimed partition is not sent again (one may have been on its way)")
        // Doubling: in 1.5 s about log2(15) sends each (0, 0.1, 0.3, 0.7, 1.5 s), where a fixed 100 ms would make 15.
        try await Task.sleep(until: started + .milliseconds(1500))
        #expect(partitions.dropFirst().allSatisfy { sends($0.id) <= 8 }, "\(partitions.map { sends($0.id) })")

        _ = try await manager.stop(.executionId(id))
        taken.status = .stopped
        taken.endTime = Date()
        _ = try await repository.updateStepExecution(taken)
        #expect(try await manager.wait(for: id).status == .stopped)
    }

    @Test("the fingerprint follows the step structure")
    func fingerprint() {
        let written = Recorder<Int>()
        #expect(Self.job(written: written).fingerprint == Self.job(written: written).fingerprint)
        #expect(Self.job(written: written).fingerprint != Self.job(written: written, extraStep: true).fingerprint)
        #expect(Self.job(written: written).fingerprint.count == 64)
    }
}
