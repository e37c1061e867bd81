import Batch
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The worker's Prometheus endpoint and progress events, against the real servers and a worker process.
@Suite("Metrics end to end", .tags(.endToEnd), .serialized, .timeLimit(.minutes(5)))
struct MetricsEndToEndTests {
    @Test("a worker with --metrics-port serves exact counters, the chunk histogram and its gauges at GET /metrics")
    func exactMetrics() async throws {
        try await EndToEnd.with { world in
            let port = try freePort()
            let worker = try await world.startWorker([
                "--concurrency", "2", "--metrics-port", "\(port)", "--log-format", "json",
            ])
            try await worker.waitForLog("metrics endpoint listening", timeout: .seconds(10))
            let progress = try await world.messaging.progress(matching: "progress.count")

            // count: 1,000 items in chunks of 100, 250 in chunks of 100 (3 chunks), and one failing at 550 after
            // five chunks; hello once, then refused as already complete; one body that is not a command.
            let completed = [
                try await start(world, "count", ["items": 1_000, "chunkSize": 100]),
                try await start(world, "count", ["items": 250, "chunkSize": 100]),
                try await start(world, "hello", ["who": "metrics"]),
            ]
            let failing = try await start(world, "count", ["items": 900, "chunkSize": 100, "failAt": 550])
            for id in completed { #expect(try await world.finished(id).status == .completed) }
            #expect(try await world.finished(failing).status == .failed)
            guard case .refused = try await world.request(.start("hello", parameters: ["who": "metrics"])) else {
                Issue.record("a second hello was not refused")
                return
            }
            try await world.publishCommands(["not json"])
            _ = try await world.deadLetters(1)

            // The CLI follows a slow count (150 items at 10 ms each): progress events arrive, as plain lines.
            let cli = try await world.cli([
                "start", "count", "--params", #"{"items":150,"chunkSize":10,"delayMs":10}"#, "--wait",
            ])
            #expect(cli.status == 0, "\(cli.output)")
            #expect(cli.output.contains("  count: read "), "a plain progress line:\n\(cli.output)")
            var report: StepProgress?
            for try await next in progress {
                report = next
                break
            }
            #expect(report?.jobName == "count")
            #expect(report?.stepName == "count")
            #expect((report?.read ?? 0) > 0)

            let expected: [(String, [String: String], Double)] = [
                ("batch_step_items_total", ["job": "count", "step": "count", "kind": "read"], 1_900),
                ("batch_step_items_total", ["job": "count", "step": "count", "kind": "written"], 1_900),
                ("batch_chunk_duration_seconds_count", ["job": "count", "step": "count"], 33),
                ("batch_job_executions_total", ["job": "count", "status": "COMPLETED"], 3),
                ("batch_job_executions_total", ["job": "count", "status": "FAILED"], 1),
                ("batch_job_executions_total", ["job": "hello", "status": "COMPLETED"], 1),
                ("batch_commands_total", ["command": "start", "outcome": "accepted"], 5),
                ("batch_commands_total", ["command": "start", "outcome": "refused"], 1),
                ("batch_commands_total", ["command": "invalid", "outcome": "dead_lettered"], 1),
                ("batch_worker_capacity", [:], 2),
                ("batch_worker_running_jobs", [:], 0),
            ]
            var samples: [Sample] = []
            let settled = try await eventually(timeout: .seconds(10), every: .milliseconds(100)) {
                samples = try await scrape(port)
                return expected.allSatisfy { name, labels, value in lookup(in: samples, name, labels) == value }
            }
            for (name, labels, value) in expected {
                #expect(lookup(in: samples, name, labels) == value, "\(name)\(labels)")
            }
            #expect(settled)
            let buckets = samples.filter {
                $0.name == "batch_chunk_duration_seconds_bucket" && $0.labels["le"] == "+Inf"
            }
            #expect(buckets.first { $0.labels["job"] == "count" && $0.labels["step"] == "count" }?.value == 33)
            #expect(
                !samples.contains { $0.labels.keys.contains("items") || $0.labels.values.contains("metrics") },
                "no parameter reaches a label")

            // --log-format json: every line an object; job state changes carry the ids.
            let lines = worker.output.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.allSatisfy { (try? JSONValue(parsing: $0))?.objectValue != nil })
            let completedLine = try #require(
                lines.compactMap { try? JSONValue(parsing: $0).objectValue }.first {
                    $0["message"]?.stringValue == "job COMPLETED"
                        && $0["metadata"]?.objectValue?["job.execution.id"]?.stringValue == "\(completed[0])"
                })
            #expect(completedLine["level"]?.stringValue == "info")
            #expect(completedLine["metadata"]?.objectValue?["job.name"]?.stringValue == "count")
            #expect(completedLine["metadata"]?.objectValue?["worker.id"]?.stringValue != nil)
            #expect(!worker.output.contains("guest:guest"), "no password in the log")
        }
    }

    @Test("the endpoint listens on loopback unless --metrics-host says otherwise, and serves nothing but /metrics")
    func loopbackOnly() async throws {
        try await EndToEnd.with { world in
            let port = try freePort()
            let worker = try await world.startWorker(["--metrics-port", "\(port)"])
            try await worker.waitForLog("metrics endpoint listening", timeout: .seconds(10))
            #expect(worker.output.contains("127.0.0.1:\(port)"))
            let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/other")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 404)
            let (body, metrics) = try await URLSession.shared.data(
                from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            #expect(
                (metrics as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain")
                    == true)
            #expect(String(decoding: body, as: UTF8.self).contains("batch_worker_capacity"))
        }
    }

    private func start(_ world: EndToEnd, _ job: String, _ parameters: [String: JSONValue]) async throws -> Int64 {
        guard case .accepted(let id?) = try await world.request(.start(job, parameters: parameters)) else {
            throw EndToEndError("start of \(job) refused")
        }
        return id
    }

    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    private func lookup(in samples: [Sample], _ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// Reads the endpoint and parses the Prometheus text format (names, labels, values).
    private func scrape(_ port: Int) async throws -> [Sample] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "),
                let value = Double(line[line.index(after: space)...])
            else { return nil }
            let key = line[..<space]
            guard let brace = key.firstIndex(of: "{") else {
                return Sample(name: String(key), labels: [:], value: value)
            }
            var labels: [String: String] = [:]
            for pair in key[key.index(after: brace)..<key.index(before: key.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            return Sample(name: String(key[..<brace]), labels: labels, value: value)
        }
    }
}
