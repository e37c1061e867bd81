import Batch
import BatchPostgres
import BatchTestKit
import BatchWorker
import Foundation
import Testing

/// What the PostgreSQL schedule store does with one schedule's slots: `resume`.
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
}
