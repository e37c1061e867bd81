import BenchmarkSupport
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `--observability`: what serving metrics costs the `hello` throughput. One worker at a time, alternating trials
/// (plain, Prometheus, Prometheus, plain, ...): a worker with no metrics backend (swift-metrics' NOOP handler and the
/// NoOpTracer: the no-op backends) against one with `--metrics-port` (the Prometheus backend, scraped once per trial
/// to check it counted every job). With `--baseline PATH`, a third kind: the `swiftbatch` of the commit before the
/// instrumentation (uninstrumented), run with `--no-migrate` on this tree's schema.
struct ObservabilityCost {
    let world: BenchWorld
    let jobs: Int
    let trials: Int
    let concurrency: Int
    var baseline: String?

    func measure() async throws -> [String] {
        let throughput = Throughput(world: world, jobs: jobs, trials: trials, concurrency: concurrency)
        var rates: [String: [Double]] = ["uninstrumented": [], "no-op": [], "prometheus": []]
        let kinds = (baseline == nil ? [] : ["uninstrumented"]) + ["no-op", "prometheus"]
        for trial in 0..<trials {
            for offset in kinds.indices {
                let kind = kinds[(trial + offset) % kinds.count]
                var arguments = ["--concurrency", "\(concurrency)"]
                let port = try Self.freePort()
                if kind == "prometheus" { arguments += ["--metrics-port", "\(port)"] }
                if kind == "uninstrumented" { arguments += ["--no-migrate"] }
                let worker = try await world.startWorker(
                    arguments, executable: kind == "uninstrumented" ? baseline : nil)
                _ = try await throughput.run(
                    count: 3 * throughput.warmUpJobs, tag: "warm-\(kind)-\(trial)", workers: [worker])
                let result = try await throughput.run(count: jobs, tag: "obs-\(kind)-\(trial)", workers: [worker])
                if kind == "prometheus" {
                    let (body, _) = try await URLSession.shared.data(
                        from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
                    let text = String(decoding: body, as: UTF8.self)
                    let line = #"batch_job_executions_total{job="hello",status="COMPLETED"} "#
                    let counted = text.split(separator: "\n").first { $0.hasPrefix(line) }.map {
                        Int($0.dropFirst(line.count)) ?? -1
                    }
                    guard counted == jobs + 3 * throughput.warmUpJobs else {
                        throw BenchmarkError("the worker's /metrics counted \(counted.map(String.init) ?? "no") jobs")
                    }
                }
                if await worker.terminate() != 0 { throw BenchmarkError("a worker did not exit 0:\n\(worker.tail)") }
                progress("observability: trial \(trial + 1), \(kind): \(format(result.jobsPerSecond)) jobs/s")
                rates[kind, default: []].append(result.jobsPerSecond)
            }
        }
        let noOp = rates["no-op", default: []].median
        let prometheus = rates["prometheus", default: []].median
        let uninstrumented = rates["uninstrumented", default: []].median
        func list(_ kind: String) -> String { rates[kind, default: []].map { format($0) }.joined(separator: ", ") }
        let baselineLines =
            baseline == nil
            ? []
            : [
                "   uninstrumented:      median \(format(uninstrumented)) jobs/s   (trials: \(list("uninstrumented")))",
                "   cost of the no-op backends:  \(format((uninstrumented / noOp - 1) * 100)) %   (target <= 5 %)",
            ]
        let lines = [
            "Observability cost, `hello` jobs per second, one worker (--concurrency \(concurrency)), \(jobs) jobs per trial,"
                + " \(trials) trials each, alternating",
            "   no-op backends:      median \(format(noOp)) jobs/s   (trials: \(list("no-op")))",
            "   Prometheus backend:  median \(format(prometheus)) jobs/s   (trials: \(list("prometheus")))",
            "   cost of Prometheus:  \(format((noOp / prometheus - 1) * 100)) %   (target <= 10 %)",
        ]
        return [lines[0]] + baselineLines + lines.dropFirst()
    }

    /// A TCP port nothing listens on now (bound to port 0, then released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchmarkError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw BenchmarkError("bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
