// The scheduler against the local PostgreSQL and RabbitMQ (`scripts/services up`). From the Benchmarks folder:
//
//     swift run -c release SchedulerBenchmarks [schedules 1000] [idle-schedules 10000]
//
// 1. Burst: `schedules` schedules all due in the same second, fired by two scheduler services (two "workers", each
//    with its own pool and broker connection, ticking once a second as in `swiftbatch worker`): how long after the
//    slot every firing was committed and every start confirmed by the broker (sent_at).
// 2. Idle tick: with `idle-schedules` schedules defined and none due, the tick's one query under EXPLAIN (ANALYZE,
//    BUFFERS) — it must use the partial indexes — and its mean round trip over 1,000 probes.
//
// Everything runs in a schema and queue prefix of its own (`sbench_<random>`), dropped and deleted at the end.

import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchWorker
import Foundation
import Logging

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let burst = arguments.first ?? 1_000
let idle = arguments.dropFirst().first ?? 10_000
let logger = Logger(label: "sbench", factory: { _ in SwiftLogNoOpLogHandler() })
let environment = ProcessInfo.processInfo.environment
let name = "sbench_" + String(UInt32.random(in: .min ... .max), radix: 36)
var configuration = try PostgresConfiguration(
    url: environment["BATCH_DATABASE_URL"] ?? "postgres://batch:batch@127.0.0.1:5432/batch")
configuration.schema = name
let amqp = try AMQPConfiguration(url: environment["BATCH_AMQP_URL"] ?? AMQPConfiguration.defaultURL)

func messaging() async throws -> BatchMessaging {
    let connection = try await AMQPConnection.connect(configuration: amqp, logger: logger)
    return BatchMessaging(connection: connection, topology: BatchTopology(prefix: name), logger: logger)
}

let repositories = [
    try PostgresJobRepository(configuration: configuration, logger: logger),
    try PostgresJobRepository(configuration: configuration, logger: logger),
]
try await repositories[0].migrate()
let brokers = [try await messaging(), try await messaging()]
try await brokers[0].declareTopology()
let store = PostgresScheduleStore(repository: repositories[0])
let registry = try JobRegistry([Job("hello") { Step("greet") { _ in } }])

@discardableResult
func query(_ sql: String, _ parameters: [PostgresValue?] = []) async throws -> PostgresRows {
    try await repositories[0].pool.withConnection { try await $0.query(sql, parameters) }
}

do {
    // 1. The burst.
    let now = try await store.now()
    let slot = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + 3).rounded(.down))
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = .gmt
    let c = calendar.dateComponents([.second, .minute, .hour, .day, .month], from: slot)
    let cron = "\(c.second!) \(c.minute!) \(c.hour!) \(c.day!) \(c.month!) *"
    for index in 0..<burst {
        let record = ScheduleRecord(
            name: "burst-\(index)", job: "hello", cron: cron, template: .object(["n": .int(Int64(index))]),
            origin: .cli)
        try await store.add(record) { now in SchedulePlanner.start(record, now: now) }
    }
    let services = (0..<2).map {
        SchedulerService(
            store: PostgresScheduleStore(repository: repositories[$0]), sender: brokers[$0], registry: registry,
            logger: logger)
    }
    let loops = services.map { service in
        Task {
            while !Task.isCancelled {
                let started = ContinuousClock.now
                await service.tick()
                try? await Task.sleep(until: started + .seconds(1), clock: .continuous)
            }
        }
    }
    var row: PostgresRow
    repeat {
        try await Task.sleep(for: .milliseconds(100))
        row = try await query(
            """
            SELECT count(*) AS fired, count(sent_at) AS sent, max(created_at) AS committed, max(sent_at) AS last_sent
              FROM \(name).schedule_outbox
            """
        ).single()
    } while try row.decode("sent", as: Int64.self) < burst && Date() < slot + 60
    for loop in loops { loop.cancel() }
    let sent: Int64 = try row.decode("sent")
    let committed: Date = try row.decode("committed")
    let lastSent: Date = try row.decode("last_sent")
    print("burst: \(burst) schedules due at the same second on 2 scheduler services")
    print(String(format: "  fired (committed) within %.3f s of the slot", committed.timeIntervalSince(slot)))
    print(
        String(
            format: "  all %lld starts confirmed by the broker within %.3f s of the slot", sent,
            lastSent.timeIntervalSince(slot)))
    let duplicates = try await query(
        "SELECT count(*) - count(DISTINCT schedule) AS n FROM \(name).schedule_firings"
    ).single().decode("n", as: Int64.self)
    print("  duplicate firings: \(duplicates)")

    // 2. The idle tick.
    try await query("DELETE FROM \(name).schedule_outbox")
    try await query("DELETE FROM \(name).schedules")
    try await query(
        """
        INSERT INTO \(name).schedules (name, job, cron, origin, next_fire_time, last_slot)
        SELECT 'idle-' || i, 'hello', '0 2 * * *', 'cli', now() + make_interval(mins => 1 + i % 1440), now()
          FROM generate_series(1, $1::int) AS i
        """, [.int(idle)])
    try await query(
        """
        INSERT INTO \(name).schedule_outbox (schedule, slot, command, sent_at)
        SELECT 'idle-' || i, now(), '{}', now() FROM generate_series(1, $1::int) AS i
        """, [.int(idle)])
    try await query("ANALYZE \(name).schedules")
    try await query("ANALYZE \(name).schedule_outbox")
    let quoted = "\"\(name)\""
    let plan = try await query(
        "EXPLAIN (ANALYZE, BUFFERS) " + PostgresScheduleStore.probeSQL(quoted), [.double(5)]
    ).map { try $0.decode(at: 0, as: String.self) }
    print("idle tick with \(idle) schedules defined, none due (EXPLAIN ANALYZE of the tick's one query):")
    for line in plan { print("  " + line) }
    let usesIndex = plan.contains { $0.contains("schedules_due") } && !plan.contains { $0.contains("Seq Scan") }
    print("  uses the partial indexes, no sequential scan: \(usesIndex)")
    let probes = 1_000
    let clock = ContinuousClock()
    let started = clock.now
    for _ in 0..<probes { _ = try await store.probe(resendAfter: .seconds(5)) }
    let elapsed = clock.now - started
    print("  mean round trip of the probe over \(probes): \(elapsed / probes)")
} catch {
    print("failed: \(error)")
}
_ = try? await query("DROP SCHEMA IF EXISTS \"\(name)\" CASCADE")
for queue in [
    brokers[0].topology.commandsQueue, brokers[0].topology.deadLetterQueue, brokers[0].topology.commandsRetryQueue,
] {
    try? await brokers[0].connection.deleteQueue(queue)
}
for exchange in [
    brokers[0].topology.deadLetterExchange, brokers[0].topology.controlExchange, brokers[0].topology.eventsExchange,
] {
    try? await brokers[0].connection.deleteExchange(exchange)
}
for broker in brokers { await broker.connection.close() }
for repository in repositories { await repository.shutdown() }
