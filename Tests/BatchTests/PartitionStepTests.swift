import Batch
import BatchTestKit
import Synchronization
import Testing

@Suite("Partitioned steps")
struct PartitionStepTests {
    /// Sums 1...1000 in partitions of 100 numbers; partition p3 fails on its first run.
    static func job(failOnce: FailOnce, failing: String?, ran: Recorder<String>) -> Job {
        Job("sums") {
            sumsStep(partitions: 10, maxConcurrency: 4, processor: { n in n }) { context in
                ClosureItemWriter<Int> { items in
                    let name = context.partitionName ?? "?"
                    if name == failing, items.contains(350), failOnce.shouldFail(name) { throw Boom() }
                    ran.append(contentsOf: items.map { "\(name):\($0)" })
                }
            }
        }
    }

    @Test("partitions run as their own step executions and are aggregated")
    func aggregated() async throws {
        let ran = Recorder<String>()
        let jobOperator = try makeOperator(Self.job(failOnce: FailOnce(), failing: nil, ran: ran))
        let execution = try await jobOperator.start("sums")
        #expect(execution.status == .completed)
        let steps = try await jobOperator.execution(execution.id).steps
        #expect(steps.filter { $0.stepName.hasPrefix("sum:") }.count == 10)
        #expect(ran.all.count == 1000)
        let parent = try #require(steps.first { $0.stepName == "sum" })
        #expect(parent.counters.read == 1000)
        #expect(parent.counters.commit == 40)
        #expect(parent.status == execution.status)
    }

    @Test("the step's status is the worst of its partitions; a restart reruns only the unfinished partitions")
    func failedPartitionRerun() async throws {
        let ran = Recorder<String>()
        let jobOperator = try makeOperator(Self.job(failOnce: FailOnce(), failing: "p3", ran: ran))
        let failed = try await jobOperator.start("sums")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage.contains("sum:p3"))
        let firstSteps = try await jobOperator.execution(failed.id).steps
        #expect(firstSteps.filter { $0.status == .completed }.count == 9, "nine partitions and nothing else completed")
        #expect(firstSteps.first { $0.stepName == "sum:p3" }?.status == .failed)
        #expect(firstSteps.first { $0.stepName == "sum" }?.status == .failed)
        let p3Written = ran.all.filter { $0.hasPrefix("p3:") }
        #expect(p3Written == (301...325).map { "p3:\($0)" }, "p3 committed its first chunk before failing")

        ran.removeAll()
        let restarted = try await jobOperator.restart("sums")
        #expect(restarted.status == .completed)
        let rerun = try await jobOperator.execution(restarted.id).steps.map(\.stepName).sorted()
        #expect(rerun == ["sum", "sum:p3"], "only the failed partition runs again")
        #expect(ran.all == (326...400).map { "p3:\($0)" }, "p3 resumes after its last committed chunk")
        let parent = try #require(try await jobOperator.execution(restarted.id).steps.first { $0.stepName == "sum" })
        // Counters are per execution: the nine reused partitions' 900 reads plus the 75 p3 read this time.
        #expect(parent.counters.read == 975, "aggregation covers the reused completed partitions too")
        // The instance's totals count each partition once, in the execution that ran it: 925 + 75.
        let totals = try await jobOperator.instanceTotals(instanceId: restarted.instanceId)
        #expect(totals.counters.read == 1_000)
        #expect(totals.steps["sum"]?.read == 1_000)
    }

    /// Fails the partitioned step `sum` once, after all its partitions completed.
    struct FailingAfterStep: StepListener {
        let once: FailOnce
        func afterStep(_ execution: StepExecution) async throws {
            if execution.stepName == "sum", once.shouldFail("sum") { throw Boom() }
        }
    }

    @Test("instance totals: a restart that reuses every partition adds nothing to the partitioned step's work")
    func totalsWhenEveryPartitionIsReused() async throws {
        let job = Self.job(failOnce: FailOnce(), failing: nil, ran: Recorder()).listener(
            FailingAfterStep(once: FailOnce()))
        let jobOperator = try makeOperator(job)
        let failed = try await jobOperator.start("sums")
        #expect(failed.status == .failed)
        let restarted = try await jobOperator.restart(.executionId(failed.id))
        #expect(restarted.status == .completed)
        let rerun = try await jobOperator.execution(restarted.id).steps.map(\.stepName)
        #expect(rerun == ["sum"], "every partition reused: \(rerun)")
        let totals = try await jobOperator.instanceTotals(instanceId: restarted.instanceId)
        #expect(totals.counters.read == 1_000, "each partition counted once, in the execution that ran it")
    }

    @Test("partitions updating the job context at once lose none of their changes")
    func concurrentJobContextUpdates() async throws {
        let job = Job("shared") {
            PartitionStep(
                "p", partitions: 8, maxConcurrency: 8,
                partitioner: NumberedPartitioner(),
                step: Step("work") { context in
                    let key = context.stepName
                    for _ in 0..<200 {
                        context.updateJobContext { $0[key] = .int(Int64(($0.int(key) ?? 0) + 1)) }
                        await Task.yield()
                    }
                })
        }
        let jobOperator = try makeOperator(job)
        let execution = try await jobOperator.start("shared")
        #expect(execution.status == .completed)
        let counts = (0..<8).map { execution.context.int("p:part\($0)") }
        #expect(counts == Array(repeating: Int?(200), count: 8), "\(execution.context)")
    }

    @Test("partitions run concurrently, at most maxConcurrency at once")
    func boundedConcurrency() async throws {
        let active = Recorder<Int>()
        let counter = ConcurrencyCounter()
        let job = Job("parallel") {
            PartitionStep(
                "p", partitions: 6, maxConcurrency: 2,
                partitioner: NumberedPartitioner(),
                step: Step("work") { _ in
                    active.append(counter.enter())
                    try await Task.sleep(for: .milliseconds(30))
                    counter.leave()
                })
        }
        let jobOperator = try makeOperator(job)
        let execution = try await jobOperator.start("parallel")
        #expect(execution.status == .completed)
        #expect(active.all.count == 6)
        #expect(active.all.max() == 2, "two partitions overlapped, never more: \(active.all)")
    }
}

final class ConcurrencyCounter: Sendable {
    private let count = Mutex(0)
    func enter() -> Int {
        count.withLock {
            $0 += 1; return $0
        }
    }
    func leave() { count.withLock { $0 -= 1 } }
}
