import Batch
import BatchRabbitMQ
import BenchmarkSupport
import Foundation

/// Remote partitions (issue 11), with the demo `count` and its `partitions` parameter:
/// (a) scale-out of 8 I/O-bound partitions (each item sleeps, as a call to a slow service would) on 1, 2 and 4
///     workers of concurrency 1, alternating trials;
/// (b) the same job with its partitions remote (one worker of concurrency 1) and local (`swiftbatch run`, no
///     dispatcher: the partitions run in that process, one at a time), by the execution's own start and end times;
/// (c) the time from a worker's SIGKILL to the first of its partitions STARTED again on another worker (lease 2 s).
struct RemotePartitions {
    let world: BenchWorld
    let trials: Int
    /// The size of (b)'s job.
    var items = 100_000

    /// One timed run of `count` with `parameters`: publish the start, poll the database for the end.
    func run(_ parameters: [String: JSONValue], timeout: Duration = .seconds(300)) async throws -> (Int64, Double) {
        try await world.messaging.send(.start("count", parameters: parameters))
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let rows = try await world.repository.jobExecutions(jobName: "count", limit: 50)
            if let execution = rows.first(where: { $0.parameters.values["trial"] == parameters["trial"] }),
                execution.status.isFinished
            {
                guard execution.status == .completed else {
                    throw BenchmarkError("count \(parameters) ended \(execution.status): \(execution.exitMessage)")
                }
                return (execution.id, (execution.endTime ?? Date()).timeIntervalSince(execution.startTime ?? Date()))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchmarkError("count \(parameters) did not finish within \(timeout)")
    }

    private func startWorkers(_ count: Int, _ extra: [String] = []) async throws -> [WorkerProcess] {
        var workers: [WorkerProcess] = []
        for _ in 0..<count { workers.append(try await world.startWorker(["--concurrency", "1"] + extra)) }
        return workers
    }

    private func stop(_ workers: [WorkerProcess]) async {
        for worker in workers { _ = await worker.terminate() }
    }

    /// (a): seconds per trial for 1, 2 and 4 workers.
    func scaleOut() async throws -> [Int: [Double]] {
        var seconds: [Int: [Double]] = [1: [], 2: [], 4: []]
        var trial = 0
        for _ in 0..<trials {
            for count in [1, 2, 4] {
                trial += 1
                let workers = try await startWorkers(count)
                let (_, elapsed) = try await run([
                    "items": 800, "partitions": 8, "chunkSize": 10, "delayMs": 20, "trial": .int(Int64(trial)),
                ])
                seconds[count, default: []].append(elapsed)
                progress("  scale-out: \(count) worker(s): \(format(elapsed, 2)) s")
                await stop(workers)
            }
        }
        return seconds
    }

    /// (b): seconds per trial, remote and local.
    func remoteAgainstLocal() async throws -> (remote: [Double], local: [Double]) {
        var remote: [Double] = []
        var local: [Double] = []
        let worker = try await startWorkers(1)
        for index in 0..<trials {
            let parameters: [String: JSONValue] = [
                "items": .int(Int64(items)), "partitions": 8, "chunkSize": 1_000,
                "trial": .int(Int64(10_000 + 2 * index)),
            ]
            remote.append(try await run(parameters).1)
            var localParameters = parameters
            localParameters["trial"] = .int(Int64(10_001 + 2 * index))
            let json = JSONValue.object(localParameters).canonicalJSON
            let process = try WorkerProcess(
                executable: world.executable, arguments: ["run", "count", "--params", json],
                environment: world.environment(), logFile: nil)
            guard await process.waitForExit(timeout: .seconds(300)) == 0 else {
                throw BenchmarkError("swiftbatch run count failed:\n\(process.tail)")
            }
            let execution = try await world.repository.jobExecutions(jobName: "count", limit: 50).first {
                $0.parameters.values["trial"] == localParameters["trial"]
            }
            guard let execution, let start = execution.startTime, let end = execution.endTime else {
                throw BenchmarkError("no local execution recorded")
            }
            local.append(end.timeIntervalSince(start))
            progress("  remote \(format(remote.last!, 2)) s, local \(format(local.last!, 2)) s")
        }
        await stop(worker)
        return (remote, local)
    }

    /// (c): seconds from SIGKILL to a lost partition STARTED again elsewhere.
    func recovery() async throws -> [Double] {
        var seconds: [Double] = []
        for index in 0..<trials {
            // The survivor (the manager, 4 slots) takes half the partitions; the doomed worker, started after the
            // job, the other half.
            let lease = ["--lease", "2", "--heartbeat", "0.5"]
            let survivor = try await world.startWorker(["--concurrency", "4"] + lease)
            let parameters: [String: JSONValue] = [
                "items": 1_600, "partitions": 8, "chunkSize": 10, "delayMs": 20, "trial": .int(Int64(20_000 + index)),
            ]
            try await world.messaging.send(.start("count", parameters: parameters))
            var executionId: Int64?
            while executionId == nil {
                executionId = try await world.repository.jobExecutions(jobName: "count", limit: 50).first {
                    $0.parameters.values["trial"] == parameters["trial"]
                }?.id
                try await Task.sleep(for: .milliseconds(20))
            }
            let doomed = try await world.startWorker(["--concurrency", "4"] + lease)
            let doomedId = try await world.workerId(of: doomed)
            var held: Set<Int64> = []
            while held.isEmpty {
                held = Set(
                    try await world.repository.stepExecutions(jobExecutionId: executionId!).filter {
                        $0.workerId == doomedId && $0.counters.commit >= 1
                    }.map(\.id))
                try await Task.sleep(for: .milliseconds(20))
            }
            doomed.kill()
            let killed = ContinuousClock.now
            while true {
                let steps = try await world.repository.stepExecutions(jobExecutionId: executionId!)
                if steps.contains(where: { held.contains($0.id) && $0.attempt >= 2 && $0.status == .started }) { break }
                guard ContinuousClock.now - killed < .seconds(60) else {
                    throw BenchmarkError("the lost partitions did not run again within 60 s")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            seconds.append((ContinuousClock.now - killed).seconds)
            progress("  recovery: \(format(seconds.last!, 2)) s")
            _ = await doomed.waitForExit(timeout: .seconds(5))
            _ = try await run(parameters)  // waits for the job to complete
            _ = await survivor.terminate()
        }
        return seconds
    }

    static func report(
        scale: [Int: [Double]], b: (remote: [Double], local: [Double]), c: [Double], items: Int
    ) -> [String] {
        let one = scale[1]?.median ?? .nan
        var lines = ["Remote partitions (demo count; medians of the trials)"]
        lines.append(
            "  (a) 8 I/O-bound partitions (100 items x 20 ms each), workers of concurrency 1: "
                + [1, 2, 4].map { count in
                    let median = scale[count]?.median ?? .nan
                    return "\(count): \(format(median, 2)) s (\(format(one / median, 2))x)"
                }.joined(separator: ", ")
                + "  [targets: 2 >= 1.8x, 4 >= 3.5x]")
        let overhead = (b.remote.median / b.local.median - 1) * 100
        lines.append(
            "  (b) \(items) items in 8 partitions, one worker of concurrency 1: remote \(format(b.remote.median, 2)) s, "
                + "local \(format(b.local.median, 2)) s: remote \(overhead >= 0 ? "+" : "")\(format(overhead, 1)) %"
                + "  [target: <= +10 %]")
        lines.append(
            "  (c) worker SIGKILLed to its partition running again elsewhere, lease 2 s: \(format(c.median, 2)) s "
                + "(max \(format(c.max() ?? .nan, 2)) s)  [target: <= lease + 2 s = 4 s]")
        return lines
    }
}
