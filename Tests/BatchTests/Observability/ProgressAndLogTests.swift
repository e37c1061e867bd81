import Batch
import BatchTestKit
import Foundation
import Logging
import Testing

@Suite("Progress reports and job state logs")
struct ProgressAndLogTests {
    static func slowJob(count: Int, delay: Duration) -> Job {
        Job("slow") {
            ChunkStep(
                "load", chunkSize: 10, reader: { _ in SizedReader(count: count, delay: delay) },
                writer: { _ in ClosureItemWriter<Int> { _ in } })
        }
    }

    @Test("a running chunk step reports counts, pace and, from a sized reader, its position and an estimated end")
    func reports() async throws {
        let recorder = ProgressRecorder()
        let jobOperator = try ObservabilityJobs.makeOperator(
            Self.slowJob(count: 200, delay: .milliseconds(10)),
            BatchObservability(progress: recorder, progressInterval: .milliseconds(50)))
        let execution = try await jobOperator.start("slow")
        #expect(execution.status == .completed)
        let reports = recorder.all
        #expect(reports.count >= 2)
        #expect(reports.allSatisfy { $0.executionId == execution.id && $0.jobName == "slow" && $0.stepName == "load" })
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.read <= $1.read }, "counts only grow")
        #expect(reports.allSatisfy { $0.read % 10 == 0 && $0.write == $0.read }, "committed chunks only")
        #expect(reports.allSatisfy { $0.total == 800 && $0.done == $0.read * 4 })
        let last = try #require(reports.last)
        #expect(last.itemsPerSecond > 0)
        #expect(last.estimatedEnd != nil)
        #expect(last.routingKey == "progress.slow")
    }

    @Test("at most one report a second per step execution by default")
    func atMostOncePerSecond() async throws {
        let recorder = ProgressRecorder()
        let jobOperator = try ObservabilityJobs.makeOperator(
            Self.slowJob(count: 300, delay: .milliseconds(50)), BatchObservability(progress: recorder))
        let started = ContinuousClock.now
        let execution = try await jobOperator.start("slow")
        let elapsed = ContinuousClock.now - started
        #expect(execution.status == .completed)
        let reports = recorder.all
        #expect(reports.count >= 1, "the step ran \(elapsed)")
        #expect(Double(reports.count) <= elapsed / .seconds(1) + 0.001, "\(reports.count) reports in \(elapsed)")
        let times = reports.map(\.time)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1.timeIntervalSince($0) >= 0.99 })
    }

    @Test("a report survives its JSON form")
    func json() throws {
        let report = StepProgress(
            executionId: 42, jobName: "daily", stepName: "load:p1", stepExecutionId: 9, read: 1200, write: 1100,
            filter: 90, skip: 10, itemsPerSecond: 480.5, done: 4096, total: 8192,
            estimatedEnd: Date(timeIntervalSince1970: 1_800_000_000.25),
            time: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(try StepProgress(json: report.json) == report)
        #expect(report.fraction == 0.5)
        #expect(throws: BatchError.self) { try StepProgress(json: ["executionId": "x"]) }
    }

    @Test("one info line per job state change, with the job, execution and worker ids")
    func stateLogs() async throws {
        let recorder = LogRecorder()
        let jobOperator = try ObservabilityJobs.makeOperator(
            ObservabilityJobs.numbers, .disabled, logger: recorder.logger)
        let execution = try await jobOperator.start("numbers")
        let jobLines = recorder.lines.filter { $0.message.hasPrefix("job ") }
        #expect(jobLines.map(\.message) == ["job STARTING", "job STARTED", "job COMPLETED"])
        for line in jobLines {
            #expect(line.level == .info)
            #expect(line.metadata["job.name"] == "numbers")
            #expect(line.metadata["job.execution.id"] == "\(execution.id)")
            #expect(line.metadata["worker.id"] == "worker-1")
        }
    }
}
