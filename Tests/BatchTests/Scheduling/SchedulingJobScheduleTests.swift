import Batch
import Foundation
import Testing

/// `Job.schedule(...)`: schedules on a job definition, checked with the definition.
@Suite("Scheduling: job schedules")
struct SchedulingJobScheduleTests {
    private func job() -> Job {
        Job("nightly") { Step("work") { _ in } }
    }

    @Test("a schedule takes the job's name, UTC and misfire once unless told otherwise")
    func defaults() throws {
        let scheduled = job().schedule("0 2 * * *", parameters: ["date": "{{previousDate}}"])
        try scheduled.validateDefinition()
        let schedule = try #require(scheduled.schedules.first)
        #expect(scheduled.schedules.count == 1)
        #expect(schedule.name == "nightly")
        #expect(schedule.cron == (try CronSchedule(cron: "0 2 * * *")))
        #expect(schedule.cron.timeZone.identifier == TimeZone.gmt.identifier)
        #expect(schedule.misfire == .once)
        #expect(
            schedule.parameters(for: try Instant.at("2026-11-25T02:00:00Z")).values == [
                "date": "2026-11-24", "scheduledTime": "2026-11-25T02:00:00Z",
            ])
    }

    @Test("several named schedules, each with its zone, template and policy")
    func several() throws {
        let scheduled = job()
            .schedule("0 2 * * *", name: "berlin", timeZone: "Europe/Berlin", misfire: .skip)
            .schedule("*/5 * * * * *", name: "fast", parameters: ["mode": "fast"], misfire: .all)
        try scheduled.validateDefinition()
        #expect(scheduled.schedules.map(\.name) == ["berlin", "fast"])
        #expect(scheduled.schedules.map(\.misfire) == [.skip, .all])
        #expect(scheduled.schedules[0].cron.timeZone.identifier == "Europe/Berlin")
        #expect(scheduled.schedules[1].template.values == ["mode": "fast"])
        #expect(job().schedules.isEmpty)
    }

    @Test(
        "an invalid schedule fails the definition, saying why",
        arguments: [
            ("61 * * * *", "UTC", [:], "minute field: 61 is out of range 0–59"),
            ("0 2 * * *", "Europe/Atlantis", [:], "unknown time zone 'Europe/Atlantis'"),
            ("0 2 * * *", "UTC", ["date": "{{today}}"] as [String: JSONValue], "unknown placeholder {{today}}"),
        ] as [(String, String, [String: JSONValue], String)])
    func invalid(_ cron: String, _ zone: String, _ parameters: [String: JSONValue], _ fragment: String) {
        let scheduled = job().schedule(cron, timeZone: zone, parameters: parameters)
        #expect(scheduled.schedules.isEmpty)
        #expect {
            try scheduled.validateDefinition()
        } throws: { error in
            guard let error = error as? BatchError else { return false }
            return error.code == .invalidDefinition
                && error.message.hasPrefix("job 'nightly' has an invalid schedule 'nightly': ")
                && error.message.contains(fragment)
        }
    }

    @Test("two schedules of one name, or a name with spaces, fail the definition")
    func names() {
        #expect {
            try self.job().schedule("0 2 * * *").schedule("0 3 * * *").validateDefinition()
        } throws: { error in
            (error as? BatchError)?.message.contains("two schedules named 'nightly'") == true
        }
        #expect {
            try self.job().schedule("0 2 * * *", name: "two words").validateDefinition()
        } throws: { error in
            (error as? BatchError)?.code == .invalidDefinition
        }
    }

    @Test("a schedule name with a control character fails the definition, as the CLI and the API refuse it")
    func controlCharacters() {
        for name in ["night\0ly", "night\u{7}ly", "night\u{85}ly"] {
            #expect(!JobSchedule.isValidName(name))
            #expect {
                try self.job().schedule("0 2 * * *", name: name).validateDefinition()
            } throws: { error in
                (error as? BatchError)?.code == .invalidDefinition
            }
        }
        #expect(JobSchedule.isValidName("nightly-export.v2"))
        #expect(!JobSchedule.isValidName("") && !JobSchedule.isValidName(String(repeating: "x", count: 201)))
    }

    @Test("a registry refuses a schedule name two jobs use, naming both jobs")
    func acrossJobs() throws {
        let export = Job("export") { Step("work") { _ in } }.schedule("0 2 * * *", name: "nightly")
        let importing = Job("import") { Step("work") { _ in } }.schedule("0 1 * * *", name: "nightly")
        #expect {
            try JobRegistry([export, importing])
        } throws: { error in
            guard let error = error as? BatchError else { return false }
            return error.code == .invalidDefinition && error.message.contains("'export' and 'import'")
                && error.message.contains("'nightly'")
        }
        // The job's default schedule name is its own name: another job may not take it either.
        let registry = try JobRegistry([self.job().schedule("0 2 * * *")])
        #expect(throws: BatchError.self) {
            try registry.register(importing)
        }
        #expect(registry.names == ["nightly"], "the refused job is not registered")
        try registry.register(Job("other") { Step("work") { _ in } }.schedule("0 1 * * *", name: "other-nightly"))
    }

    @Test("a registry refuses a job with an invalid schedule")
    func registry() {
        #expect(throws: BatchError.self) {
            try JobRegistry([self.job().schedule("0 2 * * * * *")])
        }
    }
}
