import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation

/// The scheduler's pure decisions: what a schedule fires at a given time (its misfire policy applied), the start
/// command of each slot, and where a schedule starts from when it is added, changed or resumed.
public struct SchedulePlanner: Sendable {
    /// The jobs this process knows: they give each start's instance key (an unknown job's starts are still sent;
    /// the worker that knows it runs them).
    public let registry: JobRegistry
    /// How late a slot may be and still count as due now rather than missed.
    public var tolerance: Duration

    /// Creates a planner.
    public init(registry: JobRegistry, tolerance: Duration = .seconds(2)) {
        self.registry = registry
        self.tolerance = tolerance
    }

    /// The schedule's cron and template, or nil (with why) when the stored text no longer parses.
    static func parsed(_ schedule: ScheduleRecord) -> Result<(CronSchedule, ParameterTemplate), BatchError> {
        do {
            let cron = try CronSchedule(cron: schedule.cron, timeZone: schedule.timeZone)
            let template = try ParameterTemplate(schedule.template.objectValue ?? [:])
            return .success((cron, template))
        } catch let error as BatchError {
            return .failure(error)
        } catch {
            return .failure(BatchError(.invalidSchedule, "\(error)"))
        }
    }

    /// What `schedule` fires at `now`: every slot at most ``tolerance`` late (on time, whatever the policy), and of the
    /// older ones (missed) those its policy fires — `skip` none, `once` the latest, `all` each (a new schedule: only
    /// one due now); the time up to which its slots are then handled (the latest slot at or before now, fired or
    /// not); and its next fire time. A
    /// schedule whose stored expression, zone or template no longer parses fires nothing and never again.
    public func advance(_ schedule: ScheduleRecord, now: Date) -> ScheduleAdvance {
        guard case .success(let (cron, template)) = Self.parsed(schedule) else {
            return ScheduleAdvance(fire: [], lastSlot: schedule.lastSlot, nextFireTime: nil)
        }
        let due = cron.due(lastSlot: schedule.lastSlot, now: now, policy: schedule.misfire, tolerance: tolerance)
        let fire = due.fire
        let handled = [schedule.lastSlot, cron.latestFire(atOrBefore: now)].compactMap { $0 }.max()
        return ScheduleAdvance(
            fire: fire.map { firing(schedule, template: template, timeZone: cron.timeZone, slot: $0) },
            lastSlot: handled, nextFireTime: due.next)
    }

    /// The firing of `slot`: the start of the schedule's job with the template filled for the slot.
    public func firing(_ schedule: ScheduleRecord, slot: Date) throws -> ScheduleFiringPlan {
        switch Self.parsed(schedule) {
        case .success(let (cron, template)):
            return firing(schedule, template: template, timeZone: cron.timeZone, slot: slot)
        case .failure(let error):
            throw error
        }
    }

    private func firing(
        _ schedule: ScheduleRecord, template: ParameterTemplate, timeZone: TimeZone, slot: Date
    ) -> ScheduleFiringPlan {
        let parameters = template.parameters(for: slot, timeZone: timeZone)
        let key = (try? registry.job(named: schedule.job)).map { $0.identifyingParameters(parameters).instanceKey }
        return ScheduleFiringPlan(
            slot: slot, jobName: schedule.job, jobKey: key,
            command: Command.start(schedule.job, parameters: parameters.values).json)
    }

    /// Where a schedule starts from at `now` (added, changed or resumed): the latest slot at or before now counts
    /// as handled, and it fires next at the first slot after now.
    public static func start(_ schedule: ScheduleRecord, now: Date) -> (lastSlot: Date?, next: Date?) {
        guard case .success(let (cron, _)) = parsed(schedule) else { return (nil, nil) }
        return (cron.latestFire(atOrBefore: now), cron.nextFire(after: now))
    }

    /// The schedules of the registry's job definitions, as stored records (origin code). The registry refuses two
    /// jobs' schedules of one name; should one slip through, the first job's (by name) is kept.
    public static func codeSchedules(of registry: JobRegistry) -> [ScheduleRecord] {
        var seen: Set<String> = []
        var records: [ScheduleRecord] = []
        for name in registry.names {
            guard let job = try? registry.job(named: name) else { continue }
            for schedule in job.schedules where seen.insert(schedule.name).inserted {
                records.append(
                    ScheduleRecord(
                        name: schedule.name, job: job.name, cron: schedule.cron.expression.description,
                        timeZone: schedule.cron.timeZoneName, template: .object(schedule.template.values),
                        misfire: schedule.misfire, origin: .code))
            }
        }
        return records
    }
}
