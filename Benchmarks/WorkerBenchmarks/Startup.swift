import BenchmarkSupport
import Foundation

/// Section 4: from spawning `swiftbatch worker` to its "worker consuming" log line.
struct Startup {
    enum Variant: String, CaseIterable {
        case fresh = "empty schema (migrates it)"
        case migrated = "schema already migrated"
        case noMigrate = "schema already migrated, --no-migrate"
    }

    struct Sample {
        /// Spawn to the "worker consuming" line.
        var toConsuming: Double
        /// The worker's own figure (its `startup` log metadata: from `Worker.run()` to consuming).
        var reported: Double?
        /// SIGTERM to exit, idle.
        var shutdown: Double
    }

    let world: BenchWorld
    let spawns: Int

    func measure() async throws -> [(Variant, [Sample])] {
        var results: [(Variant, [Sample])] = []
        // Interleaved, so that the variants see the same conditions.
        var samples: [Variant: [Sample]] = [:]
        for round in 0..<spawns {
            for variant in Variant.allCases {
                let sample = try await world.retrying(
                    "start-up, \(variant.rawValue)",
                    recover: {
                        try await world.killWorkersAndPurge()
                        try await Task.sleep(for: .seconds(1))
                    }
                ) { try await spawn(variant) }
                samples[variant, default: []].append(sample)
            }
            progress("start-up: \(round + 1) of \(spawns) spawns of each kind")
        }
        for variant in Variant.allCases { results.append((variant, samples[variant] ?? [])) }
        return results
    }

    /// Spawns a worker, waits for it to consume, and shuts it down.
    func spawn(_ variant: Variant) async throws -> Sample {
        let schema = variant == .fresh ? world.freshSchema() : nil
        let arguments = ["--concurrency", "2"] + (variant == .noMigrate ? ["--no-migrate"] : [])
        let worker = try world.spawnWorker(arguments, schema: schema)
        let consuming: ContinuousClock.Instant
        do {
            consuming = try await worker.waitFor("worker consuming")
        } catch {
            throw Disrupted("\(error)")
        }
        let line = worker.line(containing: "worker consuming") ?? ""
        if variant == .fresh, !worker.tail.contains("schema migrated") {
            throw BenchmarkError("a worker on an empty schema did not log 'schema migrated':\n\(worker.tail)")
        }
        if variant != .fresh, worker.tail.contains("schema migrated") {
            throw BenchmarkError("a worker on a migrated schema migrated it again:\n\(worker.tail)")
        }
        try await Task.sleep(for: .milliseconds(200))
        let terminated = ContinuousClock.now
        let status = await worker.terminate()
        let shutdown = terminated.duration(to: .now).milliseconds
        if status != 0 {
            throw BenchmarkError(
                "an idle worker exited with \(status.map(String.init) ?? "SIGKILL") on SIGTERM:\n\(worker.tail)")
        }
        if let schema { await world.dropSchema(schema) }
        return Sample(
            toConsuming: worker.spawnedAt.duration(to: consuming).milliseconds, reported: Self.reportedStartup(line),
            shutdown: shutdown)
    }

    /// The `startup=0.0123 seconds` metadata of the "worker consuming" line, in milliseconds.
    static func reportedStartup(_ line: String) -> Double? {
        guard let range = line.range(of: "startup=") else { return nil }
        let number = line[range.upperBound...].prefix { $0.isNumber || $0 == "." || $0 == "e" || $0 == "-" }
        guard let seconds = Double(number) else { return nil }
        let unit = line[range.upperBound...].dropFirst(number.count).drop { $0 == " " }
        if unit.hasPrefix("seconds") { return seconds * 1_000 }
        if unit.hasPrefix("milliseconds") { return seconds }
        return nil
    }

    static func report(_ results: [(Variant, [Sample])]) -> [String] {
        var lines = [
            "4. Start-up, spawning `swiftbatch worker` -> its 'worker consuming' log line"
                + " (median over \(results.first?.1.count ?? 0) spawns each, interleaved)"
        ]
        for (variant, samples) in results {
            let spawnToConsuming = samples.map(\.toConsuming)
            let reported = samples.compactMap(\.reported)
            lines.append(
                "   \(variant.rawValue.padding(toLength: 40, withPad: " ", startingAt: 0))"
                    + " median \(format(spawnToConsuming.median)) ms"
                    + " (min \(format(spawnToConsuming.min() ?? .nan)), max \(format(spawnToConsuming.max() ?? .nan)));"
                    + " the worker's own 'startup' figure \(reported.isEmpty ? "n/a" : format(reported.median) + " ms")"
            )
        }
        let shutdowns = results.flatMap { $0.1.map(\.shutdown) }
        lines.append(
            "   (idle worker, SIGTERM -> exit 0: median \(format(shutdowns.median)) ms, max \(format(shutdowns.max() ?? .nan)) ms)"
        )
        return lines
    }
}
