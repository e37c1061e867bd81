import ArgumentParser
import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Logging

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Add, list, pause, resume, remove and trigger schedules (jobs started by a cron expression).",
        discussion: """
            Every worker runs the scheduler; each slot fires once, whichever worker fires it. Schedules defined on \
            a job (Job.schedule(...)) are synced when a worker starts; those added here live until removed.
            Example: \(SwiftBatch.commandName) schedule add nightly --job daily-accounting --cron '0 2 * * *' \
            --time-zone Europe/Berlin --params '{"date":"{{previousDate}}"}'
            """,
        subcommands: [
            ScheduleAddCommand.self, ScheduleListCommand.self, SchedulePauseCommand.self, ScheduleResumeCommand.self,
            ScheduleRemoveCommand.self, ScheduleTriggerCommand.self,
        ])
}

extension ConnectionOptions {
    /// Runs `body` with the schedule store and shuts its repository down before returning or throwing.
    func withSchedules<Result>(
        _ logger: Logger, _ body: (PostgresScheduleStore) async throws -> Result
    ) async throws -> Result {
        try await withRepository(logger) { repository in try await body(PostgresScheduleStore(repository: repository)) }
    }
}

/// A schedule's name: 1 to 200 characters, no spaces or control characters.
enum ScheduleName {
    static func check(_ name: String) throws {
        guard JobSchedule.isValidName(name) else {
            throw ValidationError(
                "a schedule name must be 1 to 200 characters without spaces, got '\(name.prefix(200))'")
        }
    }
}

struct ScheduleAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a schedule: start JOB at each slot of a cron expression.",
        discussion: """
            --cron takes 5 fields (minute hour day month weekday), 6 with seconds first, or a macro (@daily, ...). \
            --params is a JSON object whose strings may hold {{date}}, {{previousDate}} and {{time}}, filled in the \
            schedule's time zone; each start also gets the identifying "scheduledTime" (the slot, ISO 8601 UTC). \
            --misfire says what fires for slots missed while no worker ran: skip (none), once (the latest, the \
            default) or all (each). An unknown job, a bad expression, zone or template is refused and nothing is \
            stored.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The schedule's name (unique).")
    var name: String

    @Option(help: "The job to start.")
    var job: String

    @Option(help: "The cron expression (5 or 6 fields, or a macro).")
    var cron: String

    @Option(help: "The parameter template: a JSON object.")
    var params: String = "{}"

    @Option(help: "The IANA time zone of the expression and the placeholders (default UTC).")
    var timeZone: String = "UTC"

    @Option(help: "What fires for missed slots: skip, once or all (default once).")
    var misfire: String = MisfirePolicy.once.rawValue

    /// Refuses while parsing what ``record()`` refuses, so the error shows this command's usage.
    func validate() throws {
        _ = try record()
    }

    /// The checked schedule: everything a worker would refuse is refused here, before anything is stored.
    func record() throws -> ScheduleRecord {
        try ScheduleName.check(name)
        guard let policy = MisfirePolicy(rawValue: misfire) else {
            throw ValidationError("--misfire must be skip, once or all, got '\(misfire.prefix(100))'")
        }
        let definition = try SwiftBatch.registry.job(named: job)
        let cron = try CronSchedule(cron: self.cron, timeZone: timeZone)
        let template = try ParameterTemplate(json: params)
        let record = ScheduleRecord(
            name: name, job: definition.name, cron: self.cron, timeZone: timeZone, template: .object(template.values),
            misfire: policy, origin: .cli)
        // The job's validators see the parameters of its next slot: a template they refuse is refused now.
        let slot = cron.nextFire(after: Date()) ?? Date()
        do {
            try definition.validate(template.parameters(for: slot, timeZone: cron.timeZone))
        } catch let error as BatchError {
            throw BatchError(.invalidSchedule, "the job refuses the parameters of its next slot: \(error.message)")
        }
        return record
    }

    func run() async throws {
        let record = try record()
        let logger = try connection.logger()
        let stored = try await connection.withSchedules(logger) { store in
            try await store.add(record) { now in SchedulePlanner.start(record, now: now) }
        }
        print(
            "added schedule '\(stored.name)': job \(stored.job), next fire \(ScheduleFormatter.time(stored.nextFireTime))"
        )
    }
}

struct ScheduleListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the schedules: next fire time, last firing and the execution it started.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Print JSON, for scripts.")
    var json = false

    func run() async throws {
        let logger = try connection.logger()
        let listings = try await connection.withSchedules(logger) { store in try await store.list() }
        print(json ? try ExecutionFormatter.json(listings) : ScheduleFormatter.table(listings))
    }
}

/// The one schedule name `pause`, `resume`, `remove` and `trigger` act on.
struct ScheduleTarget: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The schedule's name.")
    var name: String

    func validate() throws { try ScheduleName.check(name) }

    /// Runs `body` with the schedule store and the name, then prints "`done` schedule 'name'".
    func run(_ done: String, _ body: (PostgresScheduleStore, String) async throws -> Void) async throws {
        try await connection.withSchedules(try connection.logger()) { try await body($0, name) }
        print("\(done) schedule '\(name)'")
    }
}

struct SchedulePauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a schedule: it fires nothing until resumed.")

    @OptionGroup var target: ScheduleTarget

    func run() async throws {
        try await target.run("paused") { try await $0.pause($1) }
    }
}

struct ScheduleResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a paused schedule from now (slots missed while paused do not fire).")

    @OptionGroup var target: ScheduleTarget

    func run() async throws {
        try await target.run("resumed") { store, name in
            guard try await store.resume(name, start: { schedule, now in SchedulePlanner.start(schedule, now: now) })
            else { throw CLIError(PostgresScheduleStore.notPausedMessage(name)) }
        }
    }
}

struct ScheduleRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a schedule and its firings (a schedule defined on a job returns when a worker starts).")

    @OptionGroup var target: ScheduleTarget

    func run() async throws {
        try await target.run("removed") { try await $0.remove($1) }
    }
}

struct ScheduleTriggerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Fire a schedule now: its job starts with the template filled for the current second.",
        discussion: """
            The firing is recorded like the scheduler's and its start published with confirms; if the broker cannot \
            take it now, a worker sends it within seconds.
            """)

    @OptionGroup var target: ScheduleTarget

    func run() async throws {
        let name = target.name
        let connection = target.connection
        let logger = try connection.logger()
        let planner = SchedulePlanner(registry: try SwiftBatch.registry)
        try await connection.withSchedules(logger) { store in
            guard let entry = try await store.trigger(name, plan: { try planner.firing($0, slot: $1) }) else {
                throw CLIError("schedule '\(name)' has fired this second already; try again in a second")
            }
            do {
                try await RemoteSession.with(connection, logger: logger, follow: false) { remote in
                    try await remote.messaging.send(
                        Command.scheduledStart(json: entry.command, registry: planner.registry))
                }
                try await store.markSent([entry.id])
                print("triggered schedule '\(name)': slot \(ScheduleFormatter.time(entry.slot)) sent")
            } catch {
                print(
                    "triggered schedule '\(name)': slot \(ScheduleFormatter.time(entry.slot)) recorded; "
                        + "a worker sends it (the broker did not take it: \(error))")
            }
        }
    }
}
