import Foundation
import Synchronization

/// A `swiftbatch worker` child process whose output (standard output and error, merged) is read by a thread of its
/// own, so that the moment a log line appears is stamped as it arrives rather than when somebody polls for it.
final class WorkerProcess: @unchecked Sendable {  // `process` is only started here and then queried (thread-safe)
    private struct Output {
        /// The last `tailLimit` characters of output, for error messages.
        var tail = ""
        /// When each watched text first appeared.
        var seen: [String: ContinuousClock.Instant] = [:]
        /// The line each watched text first appeared in.
        var lines: [String: String] = [:]
    }

    /// Texts whose first appearance is stamped.
    static let watched = ["worker consuming", "worker stopped"]
    private static let tailLimit = 16_384

    let process = Process()
    let arguments: [String]
    /// Just before `Process.run()`.
    let spawnedAt: ContinuousClock.Instant
    private let output = Mutex(Output())
    private let killed = Atomic<Bool>(false)

    /// - Parameter logFile: where to copy the output as well (for a look at the workers' logs), if anywhere.
    init(executable: String, arguments: [String], environment: [String: String], logFile: String? = nil) throws {
        self.arguments = arguments
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        spawnedAt = .now
        try process.run()
        try? pipe.fileHandleForWriting.close()
        let reader = pipe.fileHandleForReading
        let copy = logFile.flatMap { path -> FileHandle? in
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }
        Thread.detachNewThread { [self] in
            while true {
                let data = reader.availableData  // blocks until output or end of file
                if data.isEmpty { break }
                received(String(decoding: data, as: UTF8.self), at: .now)
                copy?.write(data)
            }
            try? reader.close()
            try? copy?.close()
        }
    }

    private func received(_ text: String, at instant: ContinuousClock.Instant) {
        output.withLock { output in
            // Search the new text with a little of what came before, in case a watched text was split.
            let window = String(output.tail.suffix(64)) + text
            for marker in Self.watched where output.seen[marker] == nil {
                guard let range = window.range(of: marker) else { continue }
                output.seen[marker] = instant
                let start = window[..<range.lowerBound].lastIndex(of: "\n").map { window.index(after: $0) }
                let end = window[range.upperBound...].firstIndex(of: "\n") ?? window.endIndex
                output.lines[marker] = String(window[(start ?? window.startIndex)..<end])
            }
            output.tail += text
            if output.tail.count > Self.tailLimit * 2 { output.tail = String(output.tail.suffix(Self.tailLimit)) }
        }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var tail: String { output.withLock { String($0.tail.suffix(3_000)) } }

    /// The line in which `marker` (one of ``watched``) first appeared.
    func line(containing marker: String) -> String? { output.withLock { $0.lines[marker] } }

    /// Waits until `marker` (one of ``watched``) has appeared and returns when it did.
    func waitFor(_ marker: String, timeout: Duration = .seconds(60)) async throws -> ContinuousClock.Instant {
        precondition(Self.watched.contains(marker), "not a watched text: \(marker)")
        let deadline = ContinuousClock.now + timeout
        while true {
            if let instant = output.withLock({ $0.seen[marker] }) { return instant }
            guard process.isRunning else {
                throw BenchmarkError("worker \(pid) exited before logging '\(marker)':\n\(tail)")
            }
            guard ContinuousClock.now < deadline else {
                throw BenchmarkError("worker \(pid) did not log '\(marker)' within \(timeout):\n\(tail)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Waits for the process to end; returns its exit status, or nil when it was still running at the deadline.
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return process.terminationStatus
    }

    /// SIGTERM (a graceful shutdown), then SIGKILL if it has not exited within `timeout`.
    /// - Returns: the exit status after the SIGTERM, or nil if it had to be killed.
    @discardableResult
    func terminate(timeout: Duration = .seconds(30)) async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        Foundation.kill(pid, SIGTERM)
        if let status = await waitForExit(timeout: timeout) { return status }
        kill()
        _ = await waitForExit(timeout: .seconds(5))
        return nil
    }

    /// SIGKILL, once.
    func kill() {
        if process.isRunning, !killed.exchange(true, ordering: .relaxed) { Foundation.kill(pid, SIGKILL) }
    }

    /// Resident and peak resident memory from /proc/PID/status, in KiB.
    func memory() throws -> (rss: Int, peak: Int) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) throws -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
                    .flatMap({ Int($0) })
            else { throw BenchmarkError("no \(name) in /proc/\(pid)/status") }
            return value
        }
        return (try field("VmRSS"), try field("VmHWM"))
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension WorkerProcess {
    /// User plus system CPU time the process has used, from /proc/PID/stat.
    func cpuTime() throws -> Duration {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // The fields after the command name, which is in parentheses and may hold spaces.
        guard let close = stat.lastIndex(of: ")") else { throw BenchmarkError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
            throw BenchmarkError("unreadable /proc/\(pid)/stat")
        }
        return .milliseconds((user + system) * 1_000 / clockTicksPerSecond)
    }
}

let clockTicksPerSecond = sysconf(Int32(_SC_CLK_TCK))

/// Busy and total jiffies of all CPUs, from the first line of /proc/stat.
struct SystemCPU {
    var busy: Int
    var total: Int

    static func now() -> SystemCPU {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first
        else { return SystemCPU(busy: 0, total: 0) }
        let values = line.split(separator: " ").dropFirst().compactMap { Int($0) }
        // user nice system idle iowait irq softirq steal ...
        let idle = (values.count > 3 ? values[3] : 0) + (values.count > 4 ? values[4] : 0)
        let total = values.prefix(8).reduce(0, +)
        return SystemCPU(busy: total - idle, total: total)
    }

    /// The share of the machine's CPU time that was busy since `earlier`, in percent.
    func busyPercent(since earlier: SystemCPU) -> Double {
        let total = self.total - earlier.total
        return total > 0 ? Double(busy - earlier.busy) * 100 / Double(total) : .nan
    }
}

/// The 1-minute load average.
func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").first.map(
        String.init) ?? "?"
}

/// CPU time used so far by the processes of the stack, from /proc/PID/stat, in clock ticks, per process: the
/// workers, PostgreSQL (every `postgres` process), RabbitMQ (`beam.smp`) and this benchmark; and the whole machine
/// (/proc/stat). Differences are taken per process, so that processes ending in between (other clients' PostgreSQL
/// backends) do not count negatively.
struct CPUBreakdown {
    enum Part: CaseIterable {
        case workers, postgres, rabbitmq, benchmark
    }

    var ticks: [Int32: (part: Part, ticks: Int)] = [:]
    var machine = SystemCPU(busy: 0, total: 0)

    static func sample(workers: [WorkerProcess]) -> CPUBreakdown {
        var sample = CPUBreakdown()
        let workerPids = Set(workers.map(\.pid))
        let own = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { continue }
            let name = stat[stat.index(after: open)..<close]
            let part: Part
            if workerPids.contains(pid) {
                part = .workers
            } else if pid == own {
                part = .benchmark
            } else if name == "postgres" {
                part = .postgres
            } else if name == "beam.smp" {
                part = .rabbitmq
            } else {
                continue
            }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // utime and stime (fields 14 and 15); for the servers also their reaped children's cutime and cstime:
            // a PostgreSQL backend that ends during a trial leaves its time in the postmaster's.
            let count = part == .postgres || part == .rabbitmq ? 4 : 2
            let times = fields.dropFirst(11).prefix(count).compactMap { Int($0) }
            guard times.count == count else { continue }
            sample.ticks[pid] = (part, times.reduce(0, +))
        }
        sample.machine = SystemCPU.now()
        return sample
    }

    /// Per-job milliseconds of each part since `earlier`, and the machine's busy share.
    func perJob(since earlier: CPUBreakdown, jobs: Int) -> CPUPerJob {
        var used: [Part: Int] = [:]
        for (pid, now) in ticks {
            let before = earlier.ticks[pid].flatMap { $0.part == now.part ? $0.ticks : nil } ?? 0
            used[now.part, default: 0] += max(0, now.ticks - before)
        }
        func ms(_ ticks: Int) -> Double { Double(ticks) * 1_000 / Double(clockTicksPerSecond) / Double(jobs) }
        let parts = Part.allCases.map { ms(used[$0] ?? 0) }
        let busy = ms(machine.busy - earlier.machine.busy)
        return CPUPerJob(
            workers: parts[0], postgres: parts[1], rabbitmq: parts[2], benchmark: parts[3],
            other: busy - parts.reduce(0, +), machineBusy: machine.busyPercent(since: earlier.machine))
    }
}

/// CPU milliseconds per job, by part.
struct CPUPerJob {
    var workers: Double
    var postgres: Double
    var rabbitmq: Double
    var benchmark: Double
    var other: Double
    /// The machine's busy share, in percent.
    var machineBusy: Double
}
