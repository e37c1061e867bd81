// The worker end to end, measured against release-built `swiftbatch worker` processes on the local PostgreSQL and
// RabbitMQ (`scripts/services up`), each figure in one run. From the Benchmarks folder:
//
//     (cd .. && swift build -c release --product swiftbatch) \
//         && swift build -c release --product WorkerBenchmarks \
//         && .build/release/WorkerBenchmarks ../.build/release/swiftbatch
//
// 1. `hello` jobs per second, first start message published to the N-th COMPLETED event, one worker and two
//    (alternating trials, medians, the ratio), with the CPU each part of the stack spent per job;
// 2. stop latency, stop message published to the STOPPED event, median and 99th percentile over 100 stops of slow
//    `count` jobs (one chunk about 50 ms);
// 3. a worker's resident memory idle and with --concurrency `count` jobs running (and whether a stop reaches a
//    worker that is full);
// 4. start-up time, spawning `swiftbatch worker` to its "worker consuming" log line, on an empty schema, on a
//    migrated one, and with --no-migrate.
//
// Options (all optional): [PATH-TO-swiftbatch] --jobs 500 --trials 5 --concurrency 2 --stops 100 --stop-batch 4
// --stop-concurrency 8 --memory-concurrency 4 --spawns 5; --observability measures only what serving metrics costs
// the `hello` throughput (workers without a metrics backend against workers with --metrics-port, alternating;
// `--baseline PATH` adds the `swiftbatch` of the commit before the instrumentation, run with --no-migrate);
// --remote-partitions measures only remote partitions (see RemotePartitions.swift; --remote-items N sizes its (b)).
// `swiftbatch` defaults to the one beside this executable.
// The database is BATCH_DATABASE_URL (default postgres://batch:batch@127.0.0.1:5432/batch), the broker
// BATCH_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/%2f). Everything runs in schemas and a queue prefix of
// its own (`wbench_<random>`), dropped and deleted at the end and the workers killed, also on error. On SIGINT or
// SIGTERM the workers are killed and `WorkerBenchmarks --clean wbench_<random>` drops what is left.
//
// A measurement that something outside it disrupts (a job FAILED because PostgreSQL was restarted under it, an
// event that never came) is repeated on fresh workers and listed at the end of the report. Progress goes to
// standard error, the report to standard output. WORKER_BENCH_LOG_DIR=DIR keeps every worker's log in DIR;
// WORKER_BENCH_LOG_LEVEL=debug sets the workers' log level (default info, at which the figures are meant).

import BatchRabbitMQ
import Dispatch
import Foundation

struct Options {
    var swiftbatch: String?
    var jobs = 500
    var trials = 5
    var concurrency = 2
    var stops = 100
    var stopBatch = 4
    var stopConcurrency = 8
    var memoryConcurrency = 4
    var spawns = 5
    /// `--clean NAME`: only tear down what an interrupted run left.
    var clean: String?
    /// `--remote-partitions`: only the remote partition figures (scale-out, remote against local, recovery).
    var remotePartitions = false
    /// `--remote-items N`: the size of (b)'s CPU-bound job (100,000 items by default).
    var remoteItems = 100_000
    /// `--observability`: only the `hello` throughput with no metrics backend against the Prometheus one.
    var observability = false
    /// `--baseline PATH` (with `--observability`): an uninstrumented `swiftbatch` to compare with too.
    var baseline: String?

    init(_ arguments: [String]) throws {
        var arguments = arguments[...]
        while let argument = arguments.popFirst() {
            guard argument.hasPrefix("--") else {
                swiftbatch = argument
                continue
            }
            if argument == "--remote-partitions" {
                remotePartitions = true
                continue
            }
            if argument == "--observability" {
                observability = true
                continue
            }
            if argument == "--baseline" {
                guard let path = arguments.popFirst() else {
                    throw BenchmarkError("--baseline takes a swiftbatch path")
                }
                baseline = path
                continue
            }
            if argument == "--clean" {
                guard let name = arguments.popFirst(), name.hasPrefix("wbench_"),
                    name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
                else { throw BenchmarkError("--clean takes the wbench_... name of a run") }
                clean = name
                continue
            }
            guard let text = arguments.popFirst(), let value = Int(text), value > 0 else {
                throw BenchmarkError("\(argument) takes a positive number")
            }
            switch argument {
            case "--jobs": jobs = value
            case "--trials": trials = value
            case "--concurrency": concurrency = value
            case "--stops": stops = value
            case "--stop-batch": stopBatch = value
            case "--stop-concurrency": stopConcurrency = value
            case "--memory-concurrency": memoryConcurrency = value
            case "--spawns": spawns = value
            case "--remote-items": remoteItems = value
            default: throw BenchmarkError("unknown option \(argument)")
            }
        }
    }

    /// The `swiftbatch` given, or the one beside this executable.
    func executable() throws -> String {
        if clean != nil { return swiftbatch ?? "swiftbatch" }
        let path: String
        if let swiftbatch {
            path = swiftbatch
        } else {
            let own =
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            path = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("swiftbatch").path
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchmarkError("no swiftbatch executable at \(path); build it or give its path")
        }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

func masked(_ url: String) -> String {
    url.replacing(/:[^:@\/]*@/, with: ":***@")
}

func disruptions(_ list: [String]) -> [String] {
    guard !list.isEmpty else { return ["", "No measurement was disrupted."] }
    return ["", "Measurements repeated on fresh workers after a disruption (\(list.count)):"]
        + list.map { "   - \($0)" }
}

func runAll(_ world: BenchWorld, _ options: Options) async throws -> [String] {
    try await world.repository.migrate()
    if options.remotePartitions {
        let bench = RemotePartitions(world: world, trials: options.trials, items: options.remoteItems)
        progress("remote partitions (a): 8 I/O-bound partitions on 1, 2, 4 workers, \(options.trials) trials")
        let scale = try await bench.scaleOut()
        progress("remote partitions (b): remote against local, \(options.trials) trials")
        let b = try await bench.remoteAgainstLocal()
        progress("remote partitions (c): recovery after a SIGKILL, \(options.trials) trials")
        let c = try await bench.recovery()
        return ["WorkerBenchmarks --remote-partitions: \(ProcessInfo.processInfo.activeProcessorCount) cores", ""]
            + RemotePartitions.report(scale: scale, b: b, c: c, items: options.remoteItems)
            + disruptions(world.disruptions)
    }

    progress("start-up: \(options.spawns) spawns of each kind")
    let startup = try await Startup(world: world, spawns: options.spawns).measure()

    progress("throughput: \(options.jobs) hello jobs per trial, \(options.trials) trials each with one and two workers")
    let first = try await world.startWorker(["--concurrency", "\(options.concurrency)"])
    try await Task.sleep(for: .seconds(1))
    let firstIdle = try first.memory().rss
    let throughput = Throughput(
        world: world, jobs: options.jobs, trials: options.trials, concurrency: options.concurrency)
    let (trials, primary) = try await throughput.measure(first: first)
    try await Task.sleep(for: .seconds(1))
    let primaryAfter = try primary.memory().rss
    let primaryJobs = Int(try await world.completedCount(job: "hello", workerId: try await world.workerId(of: primary)))
    let primaryIdle = primary === first ? firstIdle : nil
    if await primary.terminate() != 0 {
        throw BenchmarkError("the throughput worker did not exit 0:\n\(primary.tail)")
    }

    progress("stop latency: \(options.stops) stops, \(options.stopBatch) at a time")
    let stops = try await StopLatency(
        world: world, stops: options.stops, batch: options.stopBatch, concurrency: options.stopConcurrency
    ).measure()

    progress("memory: one worker with --concurrency \(options.memoryConcurrency)")
    let memory = try await Memory(world: world, concurrency: options.memoryConcurrency).measure()

    let cores = ProcessInfo.processInfo.activeProcessorCount
    return [
        "WorkerBenchmarks: swift-batch worker, end to end",
        "  swiftbatch: \(world.executable)",
        "  PostgreSQL \(masked(world.databaseURL)), RabbitMQ \(masked(world.amqpURL)), both on this host;"
            + " \(cores) cores; schema and prefix \(world.name)",
        "",
    ] + Throughput.report(trials, jobs: options.jobs, concurrency: options.concurrency) + [""]
        + StopLatency.report(stops, concurrency: options.stopConcurrency, batch: options.stopBatch) + [""]
        + Memory.report(
            memory, concurrency: options.memoryConcurrency,
            throughputWorker: (primaryIdle, primaryAfter, primaryJobs)) + [""]
        + Startup.report(startup) + disruptions(world.disruptions)
}

let options: Options
let executable: String
do {
    options = try Options(Array(CommandLine.arguments.dropFirst()))
    executable = try options.executable()
} catch {
    FileHandle.standardError.write(Data("WorkerBenchmarks: \(error)\n".utf8))
    exit(2)
}
let environment = ProcessInfo.processInfo.environment
let world = try await BenchWorld(
    executable: executable,
    databaseURL: environment["BATCH_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        ?? "postgres://batch:batch@127.0.0.1:5432/batch",
    amqpURL: environment["BATCH_AMQP_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? AMQPConfiguration.defaultURL,
    name: options.clean)
if options.clean != nil {
    await world.tearDown()
    progress("dropped the schemas \(world.name)*, deleted the queues and exchanges \(world.name).*")
    exit(0)
}
progress("world \(world.name), swiftbatch \(executable)")

let signalSources = installSignalHandlers(world)

let report: [String]
do {
    if options.observability {
        try await world.repository.migrate()
        report = try await ObservabilityCost(
            world: world, jobs: options.jobs, trials: options.trials, concurrency: options.concurrency,
            baseline: options.baseline
        ).measure()
    } else {
        report = try await runAll(world, options)
    }
} catch {
    FileHandle.standardError.write(Data("WorkerBenchmarks failed: \(error)\n".utf8))
    await world.tearDown()
    exit(1)
}
await world.tearDown()
print(report.joined(separator: "\n"))
_ = signalSources
