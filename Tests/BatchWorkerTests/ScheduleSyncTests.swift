import Batch
import BatchPostgres
import BatchTestKit
import BatchWorker
import Foundation
import Testing

/// Schedules defined on job definitions reach the database when a worker starts: added, updated when their definition
/// changes, removed when the code no longer defines them — and schedules added with the CLI are left alone.
@Suite("Schedules from code", .tags(.endToEnd), .timeLimit(.minutes(2)))
struct ScheduleSyncTests {
    static func job(_ schedule: ((Job) -> Job)?) -> Job {
        let job = Job("nightly") { Step("work") { _ in } }
        return schedule?(job) ?? job
    }

    @Test("sync adds, updates and removes the code's schedules and leaves CLI schedules alone")
    func sync() async throws {
        try await EndToEnd.with { world in
            let store = PostgresScheduleStore(repository: world.repository)
            let byHand = ScheduleRecord(name: "by-hand", job: "other-job", cron: "0 3 * * *", origin: .cli)
            try await store.add(byHand) { now in (nil, now.addingTimeInterval(3_600)) }
            // A second add of the name is a conflict (the API's 409), not bad input.
            await #expect {
                try await store.add(byHand) { now in (nil, now.addingTimeInterval(3_600)) }
            } throws: { ($0 as? BatchError)?.code == .scheduleExists }

            let first = try JobRegistry([
                Self.job { $0.schedule("0 2 * * *", timeZone: "Europe/Berlin", parameters: ["date": "{{date}}"]) }
            ])
            try await SchedulerService.syncCodeSchedules(first, into: store, logger: quietLogger)
            let added = try #require(try await store.schedule(named: "nightly"))
            #expect(added.origin == .code)
            #expect(added.cron == "0 2 * * *" && added.timeZone == "Europe/Berlin")
            #expect(added.template == ["date": "{{date}}"])
            let next = try #require(added.nextFireTime)
            #expect(next > Date() && next < Date().addingTimeInterval(86_400 + 60), "the next 02:00 in Berlin")

            // The same definitions again change nothing; a paused schedule stays paused.
            try await store.pause("nightly")
            try await SchedulerService.syncCodeSchedules(first, into: store, logger: quietLogger)
            #expect(try await store.schedule(named: "nightly")?.paused == true)

            let changed = try JobRegistry([Self.job { $0.schedule("30 4 * * *", misfire: .all) }])
            try await SchedulerService.syncCodeSchedules(changed, into: store, logger: quietLogger)
            let updated = try #require(try await store.schedule(named: "nightly"))
            #expect(updated.cron == "30 4 * * *" && updated.timeZone == "UTC" && updated.misfire == .all, "\(updated)")

            try await SchedulerService.syncCodeSchedules(
                try JobRegistry([Self.job(nil)]), into: store, logger: quietLogger)
            #expect(try await store.schedule(named: "nightly") == nil, "no longer defined: removed")
            #expect(try await store.schedule(named: "by-hand")?.origin == .cli, "a CLI schedule is left alone")
        }
    }
}
