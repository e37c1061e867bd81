import Batch
import BatchTestKit
import MetricsTestKit
import Testing

@Suite("Engine metrics")
struct EngineMetricsTests {
    private func items(_ metrics: TestMetrics, job: String, step: String, _ kind: String) -> Int64 {
        metrics.counterTotal(
            label: BatchMetricName.stepItems, dimensions: [("job", job), ("step", step), ("kind", kind)])
    }

    @Test("step items, chunk durations and job executions are counted exactly, by job and step")
    func exactCounts() async throws {
        let metrics = TestMetrics()
        let jobOperator = try ObservabilityJobs.makeOperator(
            ObservabilityJobs.numbers, BatchObservability(metrics: metrics))
        let execution = try await jobOperator.start("numbers")
        #expect(execution.status == .completed)

        #expect(items(metrics, job: "numbers", step: "square", "read") == 1000)
        #expect(items(metrics, job: "numbers", step: "square", "filtered") == 100)
        #expect(items(metrics, job: "numbers", step: "square", "skipped") == 3)
        #expect(items(metrics, job: "numbers", step: "square", "written") == 897)
        let timer = try metrics.expectTimer(BatchMetricName.chunkDuration, [("job", "numbers"), ("step", "square")])
        #expect(timer.values.count == 10, "one duration per committed chunk")
        #expect(timer.values.allSatisfy { $0 >= 0 })
        #expect(
            metrics.counterTotal(
                label: BatchMetricName.jobExecutions, dimensions: [("job", "numbers"), ("status", "COMPLETED")]) == 1)
    }

    @Test("partitions count under their partitioned step's name; a failed execution counts as FAILED")
    func partitionLabels() async throws {
        let metrics = TestMetrics()
        let jobOperator = try ObservabilityJobs.makeOperator(
            ObservabilityJobs.sums(failing: "p2"), BatchObservability(metrics: metrics))
        let execution = try await jobOperator.start("sums")
        #expect(execution.status == .failed)

        // p2 commits its first chunk (25) and fails on its second; the other three read 100 each.
        #expect(items(metrics, job: "sums", step: "sum", "read") == 325)
        #expect(items(metrics, job: "sums", step: "sum", "written") == 325)
        let labels = Set(metrics.counters.flatMap { $0.dimensions.filter { $0.0 == "step" }.map(\.1) })
        #expect(labels == ["sum"], "no series per partition: \(labels)")
        #expect(
            metrics.counterTotal(
                label: BatchMetricName.jobExecutions, dimensions: [("job", "sums"), ("status", "FAILED")]) == 1)
        #expect(
            metrics.counters(label: BatchMetricName.jobExecutions).allSatisfy {
                $0.dimensions.map(\.0).sorted() == ["job", "status"]
            }, "labels are the job's name and the status only (no parameters)")
    }

    @Test("the no-op backend counts nothing and changes nothing")
    func disabled() async throws {
        let jobOperator = try ObservabilityJobs.makeOperator(ObservabilityJobs.numbers, .disabled)
        let execution = try await jobOperator.start("numbers")
        #expect(execution.status == .completed)
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters.read == 1000)
        #expect(step.counters.write == 897)
    }
}
