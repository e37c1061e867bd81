import Foundation

/// A schedule of a job definition: when the job starts by itself, with which parameters, and what happens to the
/// slots missed while no worker was up.
public struct JobSchedule: Sendable, Hashable {
    /// The schedule's name, unique among the schedules of all the jobs of a registry (the job's name unless given).
    public var name: String
    /// When it fires.
    public var cron: CronSchedule
    /// The parameters of each start, filled from the slot.
    public var template: ParameterTemplate
    /// What it fires for missed slots.
    public var misfire: MisfirePolicy

    /// Creates a schedule.
    public init(name: String, cron: CronSchedule, template: ParameterTemplate, misfire: MisfirePolicy = .once) {
        self.name = name
        self.cron = cron
        self.template = template
        self.misfire = misfire
    }

    /// The job parameters of the start for `slot` (see ``ParameterTemplate/parameters(for:timeZone:)``).
    public func parameters(for slot: Date) -> JobParameters {
        template.parameters(for: slot, timeZone: cron.timeZone)
    }

    /// Whether `name` may name a schedule: 1 to 200 characters, no white space or control characters. A job's
    /// schedules, `swiftbatch schedule` and the HTTP API all check it.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 200
            && !name.unicodeScalars.contains(where: {
                $0.properties.isWhitespace || $0.properties.generalCategory == .control
            })
    }
}

extension Job {
    /// Returns this job with a schedule: it starts by itself at each slot of the cron expression `cron`, read in
    /// `timeZone`, with `parameters` filled from the slot (see ``ParameterTemplate``) plus the identifying
    /// `scheduledTime`.
    ///
    /// ```swift
    /// Job("daily-accounting") { ... }
    ///     .schedule("0 2 * * *", timeZone: "Europe/Berlin", parameters: ["date": "{{previousDate}}"])
    /// ```
    ///
    /// An invalid expression, zone or template does not fail here: ``validateDefinition()`` (called when the job is
    /// registered) refuses the job with ``BatchError/Code/invalidDefinition`` and the reason.
    /// - Parameters:
    ///   - cron: 5 fields, 6 with seconds first, or a macro (see ``CronExpression``).
    ///   - name: the schedule's name, unique among the schedules of all the jobs registered together (a
    ///     ``JobRegistry`` refuses a name two jobs use); the job's name by default.
    ///   - timeZone: an IANA zone identifier; UTC by default.
    ///   - parameters: the parameter template.
    ///   - misfire: what to fire for slots missed while no worker was up (``MisfirePolicy/once`` by default).
    public func schedule(
        _ cron: String, name: String? = nil, timeZone: String = "UTC", parameters: [String: JSONValue] = [:],
        misfire: MisfirePolicy = .once
    ) -> Job {
        var copy = self
        let scheduleName = name ?? self.name
        do {
            let schedule = try CronSchedule(cron: cron, timeZone: timeZone)
            let template = try ParameterTemplate(parameters)
            copy.schedules.append(JobSchedule(name: scheduleName, cron: schedule, template: template, misfire: misfire))
        } catch {
            copy.scheduleErrors.append(
                BatchError(
                    .invalidDefinition,
                    "job '\(self.name)' has an invalid schedule '\(scheduleName.prefix(200))': \(error.batchDescription)",
                    underlying: error))
        }
        return copy
    }

    /// Refuses the first invalid schedule, then a schedule name that is empty, too long or used twice.
    func validateSchedules() throws {
        if let error = scheduleErrors.first { throw error }
        var seen: Set<String> = []
        for schedule in schedules {
            guard JobSchedule.isValidName(schedule.name) else {
                throw BatchError(
                    .invalidDefinition,
                    "job '\(name)' has a schedule named '\(schedule.name.prefix(200))': use 1 to 200 characters, "
                        + "no spaces or control characters")
            }
            guard seen.insert(schedule.name).inserted else {
                throw BatchError(
                    .invalidDefinition,
                    "job '\(name)' has two schedules named '\(schedule.name)': give each its own name")
            }
        }
    }
}
