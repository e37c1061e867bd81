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

    /// `date` floored to its minute.
    static func minute(flooring date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60)
    }

    /// A daily expression whose slot is `slot`'s minute of the day in UTC.
    static func daily(at slot: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.hour, .minute], from: slot)
        return "\(parts.minute!) \(parts.hour!) * * *"
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

    @Test("a changed expression fires none of the slots only it has between the last firing and the change")
    func changedExpressionInventsNoMissedSlots() async throws {
        try await EndToEnd.with { world in
            let store = PostgresScheduleStore(repository: world.repository)
            let now = try await store.now()
            // A daily schedule (misfire all) that fired its slot 8 hours ago; its next is tomorrow's.
            let fired = Self.minute(flooring: now.addingTimeInterval(-8 * 3_600))
            let daily = ScheduleRecord(
                name: "nightly", job: "nightly", cron: Self.daily(at: fired), misfire: .all, origin: .code)
            try await store.add(daily) { _ in (fired, fired.addingTimeInterval(86_400)) }

            // A deploy makes it every 5 minutes: the 5-minute slots since the last firing were never scheduled.
            let registry = try JobRegistry([Self.job { $0.schedule("*/5 * * * *", misfire: .all) }])
            try await SchedulerService.syncCodeSchedules(registry, into: store, logger: quietLogger)
            let synced = try #require(try await store.schedule(named: "nightly"))
            let next = try #require(synced.nextFireTime)
            #expect(next > now, "nothing is due at the change: \(synced)")
            let advance = SchedulePlanner(registry: registry).advance(synced, now: next)
            #expect(advance.fire.map(\.slot) == [next], "only the first slot after the change fires")
        }
    }

    @Test("a changed template fires a slot missed before the change now, as an unchanged definition does")
    func changedTemplateKeepsTheMissedSlot() async throws {
        try await EndToEnd.with { world in
            let store = PostgresScheduleStore(repository: world.repository)
            let now = try await store.now()
            // A daily schedule whose slot 10 minutes ago was missed (workers down); yesterday's fired.
            let missed = Self.minute(flooring: now.addingTimeInterval(-600))
            let cron = Self.daily(at: missed)
            let before = ScheduleRecord(
                name: "nightly", job: "nightly", cron: cron, template: ["run": "a"], origin: .code)
            try await store.add(before) { _ in (missed.addingTimeInterval(-86_400), missed) }

            // The deploy that brings the workers back changes only the template.
            let registry = try JobRegistry([Self.job { $0.schedule(cron, parameters: ["run": "b"]) }])
            try await SchedulerService.syncCodeSchedules(registry, into: store, logger: quietLogger)
            let planner = SchedulePlanner(registry: registry)
            let (entries, _) = try await store.fireDue(limit: 10) { planner.advance($0, now: $1) }
            #expect(entries.map(\.slot) == [missed], "the missed slot fires now, not a day late")
            let after = try #require(try await store.schedule(named: "nightly"))
            #expect(after.nextFireTime == missed.addingTimeInterval(86_400), "\(after)")
        }
    }
}
