import Batch
import BatchRabbitMQ
import BenchmarkSupport
import Foundation

/// Section 2: from publishing `{"command": "stop", "executionId": ...}` to the commands queue to the STOPPED event.
struct StopLatency {
    struct Result {
        /// Stop published (before its confirm) to STOPPED event, per stop.
        var latencies: [Double]
        /// The broker's confirm of the stop message, per stop.
        var confirms: [Double]
        /// Per stopped execution: its step's duration divided by its chunks committed.
        var chunkDurations: [Double]
        var chunksAtStop: [Double]
        var elapsed: Duration
    }

    let world: BenchWorld
    let stops: Int
    /// Jobs running (and stopped) at once.
    let batch: Int
    /// The worker's `--concurrency`: above `batch`, because a full worker takes no commands, stops included.
    let concurrency: Int
    static let items = 100_000
    static let chunkSize = 10
    static let delayMs = 5

    func measure() async throws -> Result {
        let arguments = ["--concurrency", "\(concurrency)"]
        var worker = try await world.startWorker(arguments)
        let events = try await EventRecorder(messaging: world.messaging, bindingKeys: ["job.count.*"])
        let world = world
        let started = ContinuousClock.now
        var measured: [(id: Int64, latency: Double, confirm: Double)] = []
        var round = 0
        do {
            while measured.count < stops {
                let count = min(batch, stops - measured.count)
                let results = try await world.retrying(
                    "stop round \(round + 1)",
                    recover: {
                        try await world.killWorkersAndPurge()
                        worker = try await world.startWorker(arguments)
                        try await world.waitUntilNothingRuns(job: "count")
                        round += 1
                    }
                ) {
                    let tag = "stop-\(round)-\(UUID().uuidString.prefix(8).lowercased())"
                    return try await withThrowingTaskGroup(of: (id: Int64, latency: Double, confirm: Double).self) {
                        group in
                        for job in 0..<count {
                            group.addTask {
                                try await Self.startAndStop(world: world, events: events, run: "\(tag)-\(job)")
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                }
                measured += results
                round += 1
                if round % 5 == 0 { progress("stop latency: \(measured.count) of \(stops) stops") }
            }
        } catch {
            await events.close()
            throw error
        }
        let elapsed = started.duration(to: .now)
        await events.close()
        var chunkDurations: [Double] = []
        var chunksAtStop: [Double] = []
        for (id, _, _) in measured {
            guard let execution = try await world.repository.jobExecution(id: id), execution.status == .stopped,
                let step = try await world.repository.stepExecutions(jobExecutionId: id).first,
                step.status == .stopped, let end = step.endTime
            else { throw BenchmarkError("execution \(id) or its step is not STOPPED in the database") }
            let commits = step.counters.commit
            guard commits > 0, step.counters.read < Self.items else {
                throw BenchmarkError("execution \(id) stopped after \(commits) chunks, \(step.counters.read) items")
            }
            chunkDurations.append(end.timeIntervalSince(step.startTime) * 1_000 / Double(commits))
            chunksAtStop.append(Double(commits))
        }
        let status = await worker.terminate()
        if status != 0 { throw BenchmarkError("the stop worker exited with \(status.map(String.init) ?? "SIGKILL")") }
        return Result(
            latencies: measured.map(\.latency), confirms: measured.map(\.confirm), chunkDurations: chunkDurations,
            chunksAtStop: chunksAtStop, elapsed: elapsed)
    }

    /// Starts a slow `count` (RPC, for its execution id), waits for STARTED and a random 150–250 ms more (a few
    /// chunks in, at a random point of a chunk), publishes the stop and waits for STOPPED.
    static func startAndStop(
        world: BenchWorld, events: EventRecorder, run: String
    ) async throws -> (
        id: Int64, latency: Double, confirm: Double
    ) {
        let reply: Reply
        do {
            reply = try await world.messaging.request(
                .start(
                    "count",
                    parameters: [
                        "items": .int(Int64(items)), "chunkSize": .int(Int64(chunkSize)),
                        "delayMs": .int(Int64(delayMs)), "run": .string(run),
                    ]))
        } catch {
            throw Disrupted("a count start request failed: \(error)")
        }
        guard case .accepted(let id?) = reply else { throw Disrupted("count start refused: \(reply)") }
        _ = try await events.wait(for: id, .started, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(Int.random(in: 150...250)))
        let sent = ContinuousClock.now
        try await world.messaging.send(.stop(executionId: id))
        let confirmed = ContinuousClock.now
        let stopped = try await events.wait(
            for: id, .stopped, timeout: .seconds(30), unless: [.failed, .completed, .abandoned])
        return (id, sent.duration(to: stopped).milliseconds, sent.duration(to: confirmed).milliseconds)
    }

    static func report(_ result: Result, concurrency: Int, batch: Int) -> [String] {
        let latencies = result.latencies
        return [
            "2. Stop latency, stop published to the commands queue -> STOPPED event, over \(latencies.count) stops",
            "   (`count` items \(items), chunkSize \(chunkSize), delayMs \(delayMs): nominal chunk"
                + " \(chunkSize * delayMs) ms, measured median \(format(result.chunkDurations.median)) ms per chunk;"
                + " a stop is honoured at the next chunk boundary)",
            "   median \(format(latencies.median)) ms   p90 \(format(latencies.percentile(90))) ms"
                + "   p99 \(format(latencies.percentile(99))) ms"
                + "   min \(format(latencies.min() ?? .nan)) ms   max \(format(latencies.max() ?? .nan)) ms",
            "   of which the broker's confirm of the stop message: median \(format(result.confirms.median, 2)) ms",
            "   (\(batch) jobs at a time on one worker with --concurrency \(concurrency); stops sent 150-250 ms after"
                + " STARTED, median \(format(result.chunksAtStop.median, 0)) chunks committed;"
                + " \(format(result.elapsed.seconds)) s in all)",
        ]
    }
}
