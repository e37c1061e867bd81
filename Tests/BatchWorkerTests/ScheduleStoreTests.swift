import Batch
import BatchPostgres
import BatchTestKit
import BatchWorker
import Foundation
import Testing

/// What the PostgreSQL schedule store does with one schedule's slots: `resume` and the firings it keeps.
@Suite("Schedule store", .tags(.endToEnd), .timeLimit(.minutes(2)))
struct ScheduleStoreTests {
    static func registry() throws -> JobRegistry {
        try JobRegistry([Job("minutely") { Step("work") { _ in } }])
    }

    /// `date` floored to its minute.
    static func minute(flooring date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60)
    }

    @Test("resume of a schedule that is not paused changes nothing: its missed slots still follow the policy")
    func resumeOnlyAPausedSchedule() async throws {
        try await EndToEnd.with { world in
            let store = PostgresScheduleStore(repository: world.repository)
            let planner = SchedulePlanner(registry: try Self.registry())
            let start = { (schedule: ScheduleRecord, now: Date) in SchedulePlanner.start(schedule, now: now) }
            let now = Self.minute(flooring: try await store.now())
            // Every minute; the last 5 were missed (no worker ran), and it was never paused.
            let record = ScheduleRecord(name: "minutely", job: "minutely", cron: "* * * * *", origin: .cli)
            let stored = try await store.add(record) { _ in
                (now.addingTimeInterval(-360), now.addingTimeInterval(-300))
            }
            #expect(try await store.resume("minutely", start: start) == false)
            #expect(try await store.schedule(named: "minutely") == stored, "left as it was")
            let (entries, _) = try await store.fireDue(limit: 10) { planner.advance($0, now: $1) }
            #expect(entries.map(\.slot).last.map { $0 >= now } == true, "misfire once fires the latest missed slot")

            // A paused one is resumed from now.
            try await store.pause("minutely")
            #expect(try await store.resume("minutely", start: start) == true)
            let resumed = try #require(try await store.schedule(named: "minutely"))
            #expect(!resumed.paused && resumed.nextFireTime.map { $0 > now } == true, "\(resumed)")
            await #expect {
                try await store.resume("no-such-schedule", start: start)
            } throws: { ($0 as? BatchError)?.code == .jobNotFound }
        }
    }

    @Test("firing removes the firings more than a week before the last slot, a bounded number per call")
    func oldFiringsAreRemoved() async throws {
        try await EndToEnd.with { world in
            let store = PostgresScheduleStore(repository: world.repository)
            let planner = SchedulePlanner(registry: try Self.registry())
            let now = Self.minute(flooring: try await store.now())
            let record = ScheduleRecord(
                name: "minutely", job: "minutely", cron: "* * * * *", misfire: .once, origin: .cli)
            try await store.add(record) { _ in (now.addingTimeInterval(-120), now.addingTimeInterval(-60)) }
            // Firings of 8 days ago and more (one call's worth and 10 more), and of 6 days ago.
            let old = PostgresScheduleStore.firingsRemovedPerCall + 10
            func addFirings(_ count: Int, before: Date) async throws {
                try await world.repository.pool.withConnection { connection in
                    try await connection.query(
                        """
                        INSERT INTO \(world.name).schedule_firings (schedule, slot, job_name)
                        SELECT 'minutely', $1::timestamptz - make_interval(mins => i::int), 'minutely'
                          FROM generate_series(0, $2 - 1) AS i
                        """, [.timestamp(before), .int(count)])
                }
            }
            try await addFirings(old, before: now.addingTimeInterval(-8 * 86_400))
            try await addFirings(5, before: now.addingTimeInterval(-6 * 86_400))
            let weekAgo = now.addingTimeInterval(-7 * 86_400)

            #expect(try await store.fireDue(limit: 10) { planner.advance($0, now: $1) }.claimed == 1)
            var firings = try await world.firings("minutely")
            #expect(firings.filter { $0.slot < weekAgo }.count == 10, "one call removes at most its bound")
            #expect(firings.filter { $0.slot > weekAgo }.count >= 6, "the recent ones and the new one stay")

            // Due again: the next call removes the rest.
            try await world.repository.pool.withConnection { connection in
                try await connection.query(
                    "UPDATE \(world.name).schedules SET next_fire_time = now() WHERE name = 'minutely'")
            }
            #expect(try await store.fireDue(limit: 10) { planner.advance($0, now: $1) }.claimed == 1)
            firings = try await world.firings("minutely")
            #expect(firings.filter { $0.slot < weekAgo }.isEmpty)
            #expect(firings.filter { $0.slot > weekAgo }.count >= 6)
        }
    }
}
