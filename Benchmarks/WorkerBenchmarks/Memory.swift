import Batch
import BatchRabbitMQ
import BenchmarkSupport
import Foundation

/// Section 3: a worker's resident memory idle and with `--concurrency` `count` jobs running; and, since that
/// worker is then full, whether a stop sent to the commands queue reaches it.
struct Memory {
    struct Result {
        var idle: (rss: Int, peak: Int)
        /// Samples while the jobs ran.
        var busy: [Int]
        var busyPeak: Int
        var afterStop: Int
        /// What became of a stop published while the worker was full.
        var fullWorkerStop: String
    }

    let world: BenchWorld
    let concurrency: Int
    static let items = 1_000_000
    static let chunkSize = 100
    static let delayMs = 1

    /// Measures, once more on a fresh worker if disrupted.
    func measure() async throws -> Result {
        try await world.retrying(
            "memory",
            recover: {
                try await world.killWorkersAndPurge()
                let sweeper = try await world.startWorker(["--concurrency", "1"])
                try await world.waitUntilNothingRuns(job: "count")
                await sweeper.terminate()
            }
        ) {
            do {
                return try await measureOnce()
            } catch let error as Disrupted {
                throw error
            } catch {
                throw Disrupted("\(error)")
            }
        }
    }

    func measureOnce() async throws -> Result {
        let worker = try await world.startWorker(["--concurrency", "\(concurrency)"])
        try await Task.sleep(for: .seconds(3))
        let idle = try worker.memory()
        progress("memory: idle \(mebibytes(idle.rss)); starting \(concurrency) count jobs")

        let events = try await EventRecorder(messaging: world.messaging, bindingKeys: ["job.count.*"])
        var helper: WorkerProcess?
        do {
            var ids: [Int64] = []
            for job in 0..<concurrency {
                let reply = try await world.messaging.request(
                    .start(
                        "count",
                        parameters: [
                            "items": .int(Int64(Self.items)), "chunkSize": .int(Int64(Self.chunkSize)),
                            "delayMs": .int(Int64(Self.delayMs)),
                            "run": .string("memory-\(job)-\(UUID().uuidString.prefix(8).lowercased())"),
                        ]))
                guard case .accepted(let id?) = reply else { throw Disrupted("count start refused: \(reply)") }
                ids.append(id)
            }
            for id in ids { _ = try await events.wait(for: id, .started, timeout: .seconds(30)) }
            try await Task.sleep(for: .seconds(2))
            var busy: [Int] = []
            for _ in 0..<10 {
                busy.append(try worker.memory().rss)
                try await Task.sleep(for: .milliseconds(500))
            }
            let busyPeak = try worker.memory().peak

            // The worker is full now: its command consumer is paused. Does a stop sent to the commands queue reach it?
            let probe = ids[0]
            let sent = ContinuousClock.now
            try await world.messaging.send(.stop(executionId: probe))
            var fullWorkerStop: String
            if let stopped = try? await events.wait(for: probe, .stopped, timeout: .seconds(5)) {
                fullWorkerStop = "STOPPED after \(format(sent.duration(to: stopped).milliseconds)) ms"
            } else {
                let queue = try await world.messaging.connection.queueStatus(world.messaging.topology.commandsQueue)
                fullWorkerStop =
                    "not STOPPED within 5 s (commands queue: \(queue.messages) message(s),"
                    + " \(queue.consumers) consumer(s))"
                helper = try await world.startWorker(["--concurrency", "1"])
                let stopped = try await events.wait(for: probe, .stopped, timeout: .seconds(30))
                fullWorkerStop +=
                    "; a second, idle worker took it: STOPPED \(format(sent.duration(to: stopped).seconds, 2)) s"
                    + " after it was sent"
            }
            for id in ids.dropFirst() { try await world.messaging.send(.stop(executionId: id)) }
            for id in ids { _ = try await events.wait(for: id, .stopped, timeout: .seconds(30)) }
            try await Task.sleep(for: .seconds(1))
            let afterStop = try worker.memory().rss
            await events.close()
            for process in [worker] + (helper.map { [$0] } ?? []) {
                let status = await process.terminate()
                if status != 0 {
                    throw BenchmarkError("a memory worker exited with \(status.map(String.init) ?? "SIGKILL")")
                }
            }
            return Result(
                idle: idle, busy: busy, busyPeak: busyPeak, afterStop: afterStop, fullWorkerStop: fullWorkerStop)
        } catch {
            await events.close()
            throw error
        }
    }

    static func report(
        _ result: Result, concurrency: Int, throughputWorker: (before: Int?, after: Int, jobs: Int)
    ) -> [String] {
        var lines = [
            "3. Resident memory of one worker (VmRSS, /proc/PID/status), --concurrency \(concurrency)",
            "   idle, 3 s after 'worker consuming':  \(mebibytes(result.idle.rss))   (peak so far \(mebibytes(result.idle.peak)))",
            "   \(concurrency) `count` jobs running (items \(items), chunkSize \(chunkSize), delayMs \(delayMs)):"
                + " median \(mebibytes(Int(result.busy.map(Double.init).median)))"
                + ", max \(mebibytes(result.busy.max() ?? 0)) over 10 samples in 5 s   (VmHWM \(mebibytes(result.busyPeak)))",
            "   1 s after they all stopped:          \(mebibytes(result.afterStop))",
        ]
        lines.append(
            "   the throughput worker (--concurrency 2): "
                + (throughputWorker.before.map { "\(mebibytes($0)) idle at start, " } ?? "")
                + "\(mebibytes(throughputWorker.after)) after completing \(throughputWorker.jobs) hello jobs")
        lines.append("   a stop sent while the worker was full: \(result.fullWorkerStop)")
        return lines
    }
}
