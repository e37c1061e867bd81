import Batch
import BatchRabbitMQ
import BenchmarkSupport
import Foundation

/// Section 1: `hello` jobs per second, from the first start message published to the N-th COMPLETED event.
struct Throughput {
    struct Trial {
        var workers: Int
        /// First publish to the N-th COMPLETED event.
        var elapsed: Duration
        /// First publish to the last publish confirmed.
        var publishing: Duration
        /// Completed executions per worker, by the database.
        var perWorker: [Int64]
        var jobsPerSecond: Double
        /// CPU time per job of the workers, PostgreSQL, RabbitMQ, this benchmark and the rest of the machine.
        var cpu: CPUPerJob
    }

    let world: BenchWorld
    let jobs: Int
    let trials: Int
    let concurrency: Int
    /// Jobs run (unmeasured) before each trial, so that a newly spawned worker has its connections open.
    let warmUpJobs = 20
    /// Start messages in flight at once while publishing.
    let lanes = 32

    /// Publishes `count` start commands with distinct parameters and waits for as many COMPLETED events.
    func run(count: Int, tag: String, workers: [WorkerProcess]) async throws -> Trial {
        // Unique, so that a repeated trial starts new instances rather than being refused as already complete.
        let tag = "\(tag)-\(UUID().uuidString.prefix(8).lowercased())"
        let events = try await EventRecorder(
            messaging: world.messaging,
            bindingKeys: ["job.hello.COMPLETED", "job.hello.FAILED", "job.hello.ABANDONED", "job.hello.STOPPED"])
        let firstId = try await world.repository.pool.withConnection { connection in
            try await connection.query("SELECT coalesce(max(id), 0) + 1 AS id FROM \(world.name).job_executions")
                .single().decode("id", as: Int64.self)
        }
        let messaging = world.messaging
        let lanes = lanes
        let cpuBefore = CPUBreakdown.sample(workers: workers)
        let start = ContinuousClock.now
        let last: ContinuousClock.Instant
        let published: ContinuousClock.Instant
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<lanes {
                    group.addTask {
                        for n in stride(from: lane, to: count, by: lanes) {
                            try await messaging.send(
                                .start("hello", parameters: ["run": .string(tag), "n": .int(Int64(n))]))
                        }
                    }
                }
                try await group.waitForAll()
            }
            published = .now
            last = try await events.wait(
                forNumber: count, .completed, stall: .seconds(20), failures: [.failed, .abandoned, .stopped])
        } catch {
            await events.close()
            throw error
        }
        let cpu = CPUBreakdown.sample(workers: workers).perJob(since: cpuBefore, jobs: count)
        await events.close()
        let perWorker = try await world.repository.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT count(*) AS n FROM \(world.name).job_executions
                 WHERE id >= $1 AND job_name = 'hello' AND status = 'COMPLETED'
                 GROUP BY worker_id ORDER BY n DESC
                """, [.int(firstId)]
            ).map { try $0.decode("n", as: Int64.self) }
        }
        guard perWorker.reduce(0, +) == count else {
            throw Disrupted(
                "the database holds \(perWorker.reduce(0, +)) COMPLETED executions of run \(tag), not \(count)")
        }
        let elapsed = start.duration(to: last)
        return Trial(
            workers: workers.count, elapsed: elapsed, publishing: start.duration(to: published), perWorker: perWorker,
            jobsPerSecond: Double(count) / elapsed.seconds, cpu: cpu)
    }

    /// Alternating trials with one and two workers (the second worker is spawned for its trials and then shut
    /// down). A disrupted trial (a job failed or an event never came) is repeated on fresh workers.
    ///
    /// - Returns: the trials, and the first worker as it is at the end (a fresh one if a disruption replaced it).
    func measure(first: WorkerProcess) async throws -> (trials: [Trial], primary: WorkerProcess) {
        var primary = first
        var secondary: WorkerProcess?
        let arguments = ["--concurrency", "\(concurrency)"]
        let recover = {
            secondary = nil
            try await world.killWorkersAndPurge()
            primary = try await world.startWorker(arguments)
            try await world.waitUntilNothingRuns(job: "hello")
        }
        progress("throughput: warm-up, \(warmUpJobs * 3) hello jobs")
        _ = try await world.retrying("throughput warm-up", recover: recover) {
            try await run(count: warmUpJobs * 3, tag: "warm-up", workers: [primary])
        }
        var results: [Trial] = []
        for trial in 0..<trials {
            for workers in trial % 2 == 0 ? [1, 2] : [2, 1] {
                let result = try await world.retrying(
                    "throughput trial \(trial + 1) with \(workers) worker(s)", recover: recover
                ) {
                    if workers == 2, secondary == nil { secondary = try await world.startWorker(arguments) }
                    let running = [primary] + (workers == 2 ? secondary.map { [$0] } ?? [] : [])
                    _ = try await run(count: warmUpJobs, tag: "warm-\(trial)-\(workers)", workers: running)
                    return try await run(count: jobs, tag: "trial-\(trial)-\(workers)", workers: running)
                }
                progress(
                    "throughput: trial \(trial + 1), \(workers) worker(s): \(format(result.jobsPerSecond)) jobs/s"
                        + " (\(result.perWorker.map(String.init).joined(separator: " + ")) jobs;"
                        + " CPU ms/job: workers \(format(result.cpu.workers, 2)), PostgreSQL \(format(result.cpu.postgres, 2)),"
                        + " RabbitMQ \(format(result.cpu.rabbitmq, 2)), other \(format(result.cpu.other, 2));"
                        + " machine \(format(result.cpu.machineBusy, 0)) % busy; load \(loadAverage()))")
                results.append(result)
                if let second = secondary {
                    secondary = nil
                    let status = await second.terminate()
                    if status != 0 {
                        throw BenchmarkError("the second worker exited with \(status.map(String.init) ?? "SIGKILL")")
                    }
                }
            }
        }
        return (results, primary)
    }

    static func report(_ trials: [Trial], jobs: Int, concurrency: Int) -> [String] {
        let one = trials.filter { $0.workers == 1 }
        let two = trials.filter { $0.workers == 2 }
        let medianOne = one.map(\.jobsPerSecond).median
        let medianTwo = two.map(\.jobsPerSecond).median
        func rates(_ trials: [Trial]) -> String { trials.map { format($0.jobsPerSecond) }.joined(separator: ", ") }
        func cpu(_ trials: [Trial], _ part: KeyPath<CPUPerJob, Double>) -> String {
            format(trials.map { $0.cpu[keyPath: part] }.median, 2)
        }
        func breakdown(_ trials: [Trial]) -> String {
            "workers \(cpu(trials, \.workers)), PostgreSQL \(cpu(trials, \.postgres)), RabbitMQ \(cpu(trials, \.rabbitmq)),"
                + " this benchmark \(cpu(trials, \.benchmark)), everything else \(cpu(trials, \.other));"
                + " machine \(format(trials.map(\.cpu.machineBusy).median, 0)) % busy"
        }
        let split = two.map { $0.perWorker.map(String.init).joined(separator: "/") }.joined(separator: ", ")
        return [
            "1. Jobs per second, `hello`, first start message published -> \(jobs)-th COMPLETED event",
            "   (\(jobs) fire-and-forget start commands with distinct parameters per trial, \(one.count) trials each,"
                + " alternating 1-2, 2-1, ...; --concurrency \(concurrency) per worker)",
            "   one worker:  median \(format(medianOne)) jobs/s   (trials: \(rates(one)))",
            "   two workers: median \(format(medianTwo)) jobs/s   (trials: \(rates(two)); jobs per worker \(split))",
            "   two / one:   \(format(medianTwo / medianOne, 2))x",
            "   CPU ms per job (user+sys, medians), one worker:  \(breakdown(one))",
            "   CPU ms per job (user+sys, medians), two workers: \(breakdown(two))",
            "   publishing the \(jobs) commands (32 in flight, each confirmed) took median "
                + "\(format(trials.map(\.publishing.milliseconds).median, 0)) ms of that",
        ]
    }
}
