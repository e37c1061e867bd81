import Batch
import BatchPostgres
import BatchTestKit
import Foundation
import Testing

/// Issue 12's timers against worker processes and the real servers: every slot fires once across a fleet that
/// loses a worker, misfires follow the policy after downtime, the CLI manages schedules and refuses bad ones.
@Suite("Scheduler end to end", .tags(.endToEnd), .serialized, .timeLimit(.minutes(5)))
struct SchedulerEndToEndTests {
    @Test("every second for 15 s on 3 workers, one SIGKILLed midway: each slot fired once, one execution per slot")
    func everySlotOnceAcrossAFleet() async throws {
        try await EndToEnd.with { world in
            let workers = [
                try await world.startWorker(["--concurrency", "4"]),
                try await world.startWorker(["--concurrency", "4"]),
                try await world.startWorker(["--concurrency", "4"]),
            ]
            try await world.addSchedule(
                "every", ["--job", "hello", "--cron", "* * * * * *", "--params", #"{"who":"tick"}"#])
            try await Task.sleep(for: .seconds(7))
            workers[0].kill()
            try await Task.sleep(for: .seconds(8))
            #expect(try await world.cli(["schedule", "pause", "every"]).status == 0)
            let slots = try await world.firings("every").map(\.slot)
            #expect(slots.count >= 13, "\(slots.count) slots fired in 15 s")
            #expect(consecutiveSeconds(slots), "a gap or a doubled slot: \(slots)")
            // Every slot's start ran exactly once (the killed worker's unacked start went to another worker). A start
            // the killed worker had already committed, and was running, ends FAILED by the lease sweep (a restart's
            // business, not the scheduler's): at most its 4 slots' worth.
            let ended = try await eventually(timeout: .seconds(40), every: .milliseconds(200)) {
                try await world.slotOutcomes("every").allSatisfy { $0.completed + $0.lost == 1 }
            }
            let outcomes = try await world.slotOutcomes("every")
            #expect(ended, "every slot's execution ended: \(outcomes)")
            #expect(outcomes.reduce(0) { $0 + $1.lost } <= 4, "\(outcomes)")
            #expect(outcomes.count == slots.count)
            for outcome in outcomes {
                #expect(outcome.instances == 1 && outcome.executions == 1, "slot \(outcome.slot): \(outcome)")
            }
            let instances = try await world.scheduledInstances(job: "hello")
            #expect(instances.count == slots.count && instances.values.allSatisfy { $0 == 1 })
            #expect(try await world.unsentStarts() == 0)
        }
    }

    @Test("after every worker was down for slots: skip fires none of the missed, once the latest, all each")
    func misfirePoliciesAfterDowntime() async throws {
        try await EndToEnd.with { world in
            let worker = try await world.startWorker()
            for policy in MisfirePolicy.allCases {
                try await world.addSchedule(
                    "misfire-\(policy.rawValue)",
                    [
                        "--job", "hello", "--cron", "*/3 * * * * *", "--misfire", policy.rawValue, "--params",
                        #"{"who":"\#(policy.rawValue)"}"#,
                    ])
            }
            try await eventually("each schedule fired once", timeout: .seconds(10), every: .milliseconds(100)) {
                for policy in MisfirePolicy.allCases where try await world.firings("misfire-\(policy.rawValue)").isEmpty
                {
                    return false
                }
                return true
            }
            worker.terminate()
            _ = try await worker.process.waitForExitStatus(timeout: .seconds(20))
            var before: [MisfirePolicy: Date] = [:]
            for policy in MisfirePolicy.allCases {
                before[policy] = try await world.firings("misfire-\(policy.rawValue)").last?.slot
            }
            try await Task.sleep(for: .seconds(7))  // at least two slots of */3 missed
            try await world.startWorker()
            try await eventually("the 'all' schedule fired after the restart", timeout: .seconds(15)) {
                try await world.firings("misfire-all").count { $0.slot > before[.all]! } >= 2
            }
            let restart = try await world.firings("misfire-all").first { $0.slot > before[.all]! }!.firedAt
            let cron = try CronSchedule(cron: "*/3 * * * * *")
            for policy in MisfirePolicy.allCases {
                let missed = cron.slots(after: before[policy]!, through: restart, limit: 100)
                #expect(missed.count >= 2, "\(policy): the downtime covered \(missed.count) slots")
                let fired = try await world.firings("misfire-\(policy.rawValue)").map(\.slot).filter {
                    $0 > before[policy]! && $0 <= restart
                }
                // Slots at most 2 s late are on time (all fire); the policy decides for the older (missed) ones.
                let onTime = missed.filter { $0 > restart.addingTimeInterval(-2) }
                let older = missed.filter { $0 <= restart.addingTimeInterval(-2) }
                #expect(older.count >= 1, "\(policy): no slot was missed by more than 2 s: \(missed)")
                switch policy {
                case .skip:
                    #expect(fired == onTime, "skip fired \(fired) of \(missed)")
                case .once:
                    #expect(fired == older.suffix(1) + onTime, "once fired \(fired) of \(missed)")
                case .all:
                    #expect(fired == missed, "all fired \(fired) of \(missed)")
                }
            }
        }
    }

    @Test("trigger, list, execution, pause, resume and remove through the CLI")
    func cliManagesSchedules() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker()
            try await world.addSchedule(
                "yearly", ["--job", "hello", "--cron", "0 0 1 1 *", "--params", #"{"who":"cli"}"#])
            let triggered = try await world.cli(["schedule", "trigger", "yearly"])
            #expect(triggered.status == 0 && triggered.output.contains("sent"), "\(triggered.output)")
            var listing: ScheduleListing?
            try await eventually("the triggered start completed", timeout: .seconds(20), every: .milliseconds(100)) {
                listing = try await world.schedules.list().first { $0.schedule.name == "yearly" }
                return listing?.lastExecutionStatus == "COMPLETED"
            }
            let executionId = try #require(listing?.lastExecutionId)
            let list = try await world.cli(["schedule", "list"])
            #expect(
                list.output.contains("yearly") && list.output.contains("\(executionId) COMPLETED"), "\(list.output)")
            let json = try await world.cli(["schedule", "list", "--json"])
            #expect(json.output.contains("\"lastExecutionId\" : \(executionId)"), "\(json.output)")
            let detail = try await world.cli(["execution", "\(executionId)"])
            #expect(detail.output.contains("schedule    yearly  slot "), "\(detail.output)")

            try await world.addSchedule("often", ["--job", "hello", "--cron", "* * * * * *"])
            try await eventually("often fired", timeout: .seconds(10)) { try await world.firings("often").count >= 2 }
            #expect(try await world.cli(["schedule", "pause", "often"]).status == 0)
            try await Task.sleep(for: .milliseconds(1_500))  // a tick in flight ends
            let paused = try await world.firings("often").count
            try await Task.sleep(for: .milliseconds(2_500))
            #expect(try await world.firings("often").count == paused, "a paused schedule fired")
            #expect(try await world.cli(["schedule", "resume", "often"]).status == 0)
            let again = try await world.cli(["schedule", "resume", "often"])
            #expect(again.status != 0 && again.output.contains("is not paused"), "\(again.output)")
            try await eventually("often fired again", timeout: .seconds(10)) {
                try await world.firings("often").count >= paused + 2
            }
            #expect(try await world.cli(["schedule", "remove", "often"]).status == 0)
            #expect(try await world.schedules.schedule(named: "often") == nil)
            #expect(try await world.firings("often").isEmpty)
            for verb in ["pause", "resume", "remove", "trigger"] {
                let missing = try await world.cli(["schedule", verb, "no-such-schedule"])
                #expect(
                    missing.status != 0 && missing.output.contains("no schedule named"), "\(verb): \(missing.output)")
            }
        }
    }

    @Test("the template's placeholders are filled in the schedule's time zone; scheduledTime is the slot in UTC")
    func placeholdersInTheScheduleZone() async throws {
        try await EndToEnd.with { world in
            try await world.startWorker()
            try await world.addSchedule(
                "kiribati",
                [
                    "--job", "hello", "--cron", "0 0 1 1 *", "--time-zone", "Pacific/Kiritimati", "--params",
                    #"{"who":"{{date}}|{{time}}"}"#,
                ])
            #expect(try await world.cli(["schedule", "trigger", "kiribati"]).status == 0)
            var listing: ScheduleListing?
            try await eventually("the start completed", timeout: .seconds(20), every: .milliseconds(100)) {
                listing = try await world.schedules.list().first
                return listing?.lastExecutionStatus == "COMPLETED"
            }
            let executionId = try #require(listing?.lastExecutionId)
            let execution = try #require(try await world.repository.jobExecution(id: executionId))
            let slot = try #require(listing?.lastFiredSlot)
            let zone = try #require(TimeZone(identifier: "Pacific/Kiritimati"))
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let day = calendar.dateComponents([.year, .month, .day], from: slot)
            let date = String(format: "%04d-%02d-%02d", day.year!, day.month!, day.day!)
            let who = try #require(execution.parameters.values["who"]?.stringValue)
            #expect(who.hasPrefix(date + "|") && who.hasSuffix("+14:00"), "who \(who) for slot \(slot)")
            let utc = ISO8601DateFormatter().string(from: slot)  // 2026-11-25T02:00:00Z
            #expect(execution.parameters.values["scheduledTime"]?.stringValue == utc)
        }
    }

    @Test("schedule add refuses an unknown job, a bad expression, zone, template or policy and stores nothing")
    func refusalsStoreNothing() async throws {
        try await EndToEnd.with { world in
            let cases: [([String], String)] = [
                (["--job", "no-such-job", "--cron", "* * * * *"], "no-such-job"),
                (["--job", "hello", "--cron", "61 * * * *"], "61"),
                (["--job", "hello", "--cron", "* * *"], "field"),
                (["--job", "hello", "--cron", "* * * * *", "--time-zone", "Mars/Olympus"], "Mars/Olympus"),
                (["--job", "hello", "--cron", "* * * * *", "--params", #"{"who":"{{nope}}"}"#], "nope"),
                (["--job", "hello", "--cron", "* * * * *", "--params", #"{"scheduledTime":"x"}"#], "scheduledTime"),
                (["--job", "hello", "--cron", "* * * * *", "--params", "[1]"], "object"),
                (["--job", "hello", "--cron", "* * * * *", "--misfire", "sometimes"], "--misfire"),
                (
                    [
                        "--job", "hello", "--cron", "* * * * *", "--params",
                        "{\"who\":\"\(String(repeating: "x", count: 201))\"}",
                    ], "200"
                ),
            ]
            for (arguments, needle) in cases {
                let (status, output) = try await world.cli(["schedule", "add", "bad"] + arguments)
                #expect(status != 0, "\(arguments) was accepted")
                #expect(output.localizedCaseInsensitiveContains(needle), "\(arguments): \(output)")
            }
            #expect(try await world.scheduleCount() == 0)
            try await world.addSchedule("good", ["--job", "hello", "--cron", "* * * * *"])
            let again = try await world.cli(["schedule", "add", "good", "--job", "hello", "--cron", "0 * * * *"])
            #expect(again.status != 0 && again.output.contains("exists already"), "\(again.output)")
            #expect(try await world.schedules.schedule(named: "good")?.cron == "* * * * *")
        }
    }
}

extension Process {
    /// Waits for the process to exit, up to `timeout`.
    func waitForExitStatus(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            guard ContinuousClock.now < deadline else { throw EndToEndError("process still running after \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return terminationStatus
    }
}
