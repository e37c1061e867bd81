import Batch
import Foundation
import Logging
import Synchronization
import Testing

@testable import BatchWorker

/// `execution ID` shows the instance's totals across its executions beside the execution's own counters.
@Suite struct InstanceTotalsTests {
    /// A count-like job: reads 1…10 in chunks of 2, and its instance's first execution fails at item 6.
    static func tallyJob() -> Job {
        let firstExecution = Mutex<Int64?>(nil)
        return Job("tally") {
            ChunkStep(
                "tally", chunkSize: 2,
                reader: { context in
                    let first = firstExecution.withLock { first in
                        if first == nil { first = context.jobExecutionId }
                        return first == context.jobExecutionId
                    }
                    return TallyReader(items: 10, failAt: first ? 6 : nil)
                },
                writer: { _ in TallyWriter() })
        }
    }

    static func jobOperator() throws -> JobOperator {
        JobOperator(
            registry: try JobRegistry([tallyJob()]), repository: InMemoryJobRepository(),
            logger: Logger(label: "tally", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// A failed execution and its restart: the instance's totals are the sum of both executions' own counters,
    /// and every item was written exactly once across them.
    @Test func totalsAddUpAFailedExecutionAndItsRestart() async throws {
        let jobOperator = try Self.jobOperator()
        let failed = try await jobOperator.start("tally")
        #expect(failed.status == .failed)
        let restarted = try await jobOperator.restart(.executionId(failed.id))
        #expect(restarted.status == .completed)

        let first = try await jobOperator.execution(failed.id)
        let second = try await jobOperator.execution(restarted.id)
        let ownFirst = InstanceTotals.counters(of: first.steps)
        let ownSecond = InstanceTotals.counters(of: second.steps)
        #expect(ownFirst.write == 4)  // chunks [1,2] and [3,4] committed before item 6 failed
        #expect(ownSecond.write == 6)

        let totals = try await jobOperator.instanceTotals(instanceId: second.instance.id)
        #expect(totals.executionIds == [failed.id, restarted.id])
        #expect(totals.counters == ownFirst + ownSecond)
        #expect(totals.counters.write == 10)
        #expect(totals.steps["tally"] == ownFirst + ownSecond)
        #expect(totals.isComplete)
        // The first execution's view shows the same instance totals.
        #expect(try await jobOperator.instanceTotals(instanceId: first.instance.id) == totals)
    }

    /// Another instance of the same job does not count.
    @Test func otherInstancesAreLeftOut() async throws {
        let jobOperator = try Self.jobOperator()
        let failed = try await jobOperator.start("tally", params: #"{"run":1}"#)
        let other = try await jobOperator.start("tally", params: #"{"run":2}"#)
        #expect(other.status == .completed)
        let totals = try await jobOperator.instanceTotals(instanceId: failed.instanceId)
        #expect(totals.executionIds == [failed.id])
        #expect(totals.counters.write == 4)
    }

    /// The text and the JSON of `execution ID` carry both the execution's counters and the instance's totals.
    @Test func formatterShowsOwnCountersAndInstanceTotals() async throws {
        let jobOperator = try Self.jobOperator()
        let failed = try await jobOperator.start("tally")
        let restarted = try await jobOperator.restart(.executionId(failed.id))
        let detail = try await jobOperator.execution(restarted.id)
        let totals = try await jobOperator.instanceTotals(instanceId: detail.instance.id)

        let text = ExecutionFormatter.detail(detail, totals: totals)
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let own = try #require(lines.first { $0.starts(with: ["this", "execution"]) })
        let instance = try #require(lines.first { $0.first == "instance" && $0.contains("executions)") })
        #expect(own[2...3] == ["6", "6"])  // read, write of the restart alone
        #expect(instance.starts(with: ["instance", String(detail.instance.id), "(2", "executions)", "10", "10"]))

        let json = try ExecutionFormatter.json(detail, totals: totals)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let executionTotals = try #require(object["executionTotals"] as? [String: Any])
        let instanceTotals = try #require(object["instanceTotals"] as? [String: Any])
        let instanceCounters = try #require(instanceTotals["counters"] as? [String: Any])
        #expect(executionTotals["write"] as? Int == 6)
        #expect(instanceCounters["write"] as? Int == 10)
        #expect(instanceTotals["executionIds"] as? [Int] == [Int(failed.id), Int(restarted.id)])
        #expect((object["execution"] as? [String: Any])?["id"] as? Int == Int(restarted.id))
    }
}

/// Reads 1…items, resuming after the last committed item; fails at `failAt`.
struct TallyReader: ItemReader {
    let items: Int
    let failAt: Int?
    private var next = 1

    init(items: Int, failAt: Int?) {
        self.items = items
        self.failAt = failAt
    }

    mutating func open(_ context: ExecutionContext) async throws {
        next = context.int("tally.next") ?? 1
    }

    mutating func read() async throws -> Int? {
        guard next <= items else { return nil }
        if next == failAt { throw BatchError(.stepFailed, "failing at item \(next)") }
        defer { next += 1 }
        return next
    }

    func update(_ context: inout ExecutionContext) {
        context["tally.next"] = .int(Int64(next))
    }

    mutating func close(_ status: BatchStatus) async throws {}
}

/// Writes nowhere.
struct TallyWriter: ItemWriter {
    mutating func write(_ items: [Int], in transaction: any ChunkTransaction) async throws {}
    mutating func open(_ context: ExecutionContext) async throws {}
    func update(_ context: inout ExecutionContext) {}
    mutating func close(_ status: BatchStatus) async throws {}
    mutating func rollback(to committed: ExecutionContext) async throws {}
}
