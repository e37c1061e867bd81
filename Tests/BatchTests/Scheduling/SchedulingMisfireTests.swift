import Batch
import Foundation
import Testing

/// `CronSchedule.due(lastSlot:now:policy:tolerance:)`: what fires now, for missed slots per policy.
@Suite("Scheduling: misfire policies")
struct SchedulingMisfireTests {
    let hourly: CronSchedule

    init() throws {
        hourly = try CronSchedule(cron: "0 * * * *")
    }

    private func due(
        _ schedule: CronSchedule, last: String?, now: String, _ policy: MisfirePolicy,
        tolerance: Duration = .seconds(2)
    ) throws -> (fire: [String], next: String) {
        let result = schedule.due(
            lastSlot: try last.map(Instant.at), now: try Instant.at(now), policy: policy, tolerance: tolerance)
        return (result.fire.map(Instant.text), Instant.text(result.next))
    }

    @Test(
        "with no slot handled yet, only the slot due now fires, whatever the policy", arguments: MisfirePolicy.allCases)
    func firstRun(_ policy: MisfirePolicy) throws {
        #expect(try due(hourly, last: nil, now: "2026-11-25T10:00:00Z", policy).fire == ["2026-11-25T10:00:00Z"])
        #expect(try due(hourly, last: nil, now: "2026-11-25T10:00:01.900Z", policy).fire == ["2026-11-25T10:00:00Z"])
        #expect(try due(hourly, last: nil, now: "2026-11-25T10:00:02Z", policy).fire == [])
        #expect(try due(hourly, last: nil, now: "2026-11-25T10:30:00Z", policy).fire == [])
        #expect(try due(hourly, last: nil, now: "2026-11-25T10:30:00Z", policy).next == "2026-11-25T11:00:00Z")
    }

    @Test("a slot already handled does not fire again", arguments: MisfirePolicy.allCases)
    func handled(_ policy: MisfirePolicy) throws {
        let result = try due(hourly, last: "2026-11-25T10:00:00Z", now: "2026-11-25T10:00:01Z", policy)
        #expect(result.fire == [])
        #expect(result.next == "2026-11-25T11:00:00Z")
    }

    @Test("the slot due now fires under every policy", arguments: MisfirePolicy.allCases)
    func onTime(_ policy: MisfirePolicy) throws {
        let result = try due(hourly, last: "2026-11-25T09:00:00Z", now: "2026-11-25T10:00:01Z", policy)
        #expect(result.fire == ["2026-11-25T10:00:00Z"])
    }

    @Test("missed slots: skip fires nothing, once the latest, all each of them in order")
    func missed() throws {
        let last = "2026-11-25T07:00:00Z"
        let now = "2026-11-25T10:30:00Z"
        #expect(try due(hourly, last: last, now: now, .skip).fire == [])
        #expect(try due(hourly, last: last, now: now, .once).fire == ["2026-11-25T10:00:00Z"])
        #expect(
            try due(hourly, last: last, now: now, .all).fire == [
                "2026-11-25T08:00:00Z", "2026-11-25T09:00:00Z", "2026-11-25T10:00:00Z",
            ])
        for policy in MisfirePolicy.allCases {
            #expect(try due(hourly, last: last, now: now, policy).next == "2026-11-25T11:00:00Z")
        }
        // Missed slots, the latest of them due now: skip fires that one only.
        #expect(try due(hourly, last: last, now: "2026-11-25T10:00:01Z", .skip).fire == ["2026-11-25T10:00:00Z"])
        // A wider tolerance makes a later slot count as due now.
        #expect(
            try due(hourly, last: last, now: now, .skip, tolerance: .seconds(3_600)).fire == ["2026-11-25T10:00:00Z"])
    }

    @Test("all fires at most the latest 100 missed slots, even after a year of slots every second")
    func allIsBounded() throws {
        let everySecond = try CronSchedule(cron: "* * * * * *")
        let clock = ContinuousClock()
        var fire: [String] = []
        let elapsed = try clock.measure {
            fire = try due(everySecond, last: "2025-11-25T10:00:00Z", now: "2026-11-25T10:00:00.500Z", .all).fire
        }
        #expect(fire.count == CronSchedule.maximumMissedSlots)
        #expect(fire.first == "2026-11-25T09:58:21Z")
        #expect(fire.last == "2026-11-25T10:00:00Z")
        #expect(fire == fire.sorted())
        #expect(elapsed < .seconds(10), "took \(elapsed)")  // slot by slot, it would take minutes
        let once = try due(everySecond, last: "2025-11-25T10:00:00Z", now: "2026-11-25T10:00:00.500Z", .once)
        // The slots within the 2 s tolerance are on time and fire; of the missed ones, `once` fires the latest.
        #expect(once.fire == ["2026-11-25T09:59:58Z", "2026-11-25T09:59:59Z", "2026-11-25T10:00:00Z"])
        #expect(once.next == "2026-11-25T10:00:01Z")
    }

    @Test("a slow tick drops no on-time slot, whatever the policy")
    func slowTick() throws {
        let everySecond = try CronSchedule(cron: "* * * * * *")
        for policy in MisfirePolicy.allCases {
            let result = try due(everySecond, last: "2026-11-25T09:59:58Z", now: "2026-11-25T10:00:00.900Z", policy)
            #expect(result.fire == ["2026-11-25T09:59:59Z", "2026-11-25T10:00:00Z"], "\(policy)")
        }
    }

    @Test("missed slots across the Berlin spring-forward gap fire once each, the skipped ones at 03:00 CEST")
    func allAcrossTheGap() throws {
        let quarterly = try CronSchedule(cron: "*/15 * * * *", timeZone: "Europe/Berlin")
        let result = try due(quarterly, last: "2026-03-29T00:40:00Z", now: "2026-03-29T01:20:00Z", .all)
        #expect(result.fire == ["2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"])
        #expect(result.next == "2026-03-29T01:30:00Z")
    }

    @Test("misfire policies are written as their names")
    func names() throws {
        #expect(MisfirePolicy.allCases.map(\.rawValue) == ["skip", "once", "all"])
        #expect(String(decoding: try JSONEncoder().encode(MisfirePolicy.all), as: UTF8.self) == #""all""#)
    }
}
