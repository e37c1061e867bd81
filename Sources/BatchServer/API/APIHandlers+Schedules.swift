import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Hummingbird

extension APIHandlers {
    var scheduleStore: PostgresScheduleStore { PostgresScheduleStore(repository: repository) }

    /// `GET /api/schedules`.
    func listSchedules(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let listings = try await scheduleStore.list()
        return APIResponse.json(["schedules": .array(listings.map(RecordJSON.schedule))])
    }

    /// `POST /api/schedules`: as `swiftbatch schedule add`; 201 with the schedule.
    func addSchedule(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let body = try await APIResponse.jsonBody(of: request), case .object(let fields) = body else {
            throw APIError(.badRequest, "the body must be a JSON object with name, job and cron")
        }
        let allowed: Set<String> = ["name", "job", "cron", "params", "timeZone", "misfire"]
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError(.badRequest, "unknown field '\(unknown.prefix(100))'")
        }
        func string(_ key: String, default value: String? = nil) throws -> String {
            switch fields[key] {
            case .string(let text)?: return text
            case nil where value != nil: return value!
            case nil: throw APIError(.badRequest, "\(key) is required")
            default: throw APIError(.badRequest, "\(key) must be a string")
            }
        }
        let name = try Self.scheduleName(try string("name"))
        let job = try registry.job(named: try string("job"))
        let cronText = try string("cron")
        let timeZone = try string("timeZone", default: "UTC")
        let misfireText = try string("misfire", default: MisfirePolicy.once.rawValue)
        guard let misfire = MisfirePolicy(rawValue: misfireText) else {
            throw APIError(.badRequest, "misfire must be skip, once or all, got '\(misfireText.prefix(100))'")
        }
        let params = fields["params"] ?? .object([:])
        guard case .object = params else { throw APIError(.badRequest, "params must be a JSON object") }
        let record: ScheduleRecord
        do {
            let cron = try CronSchedule(cron: cronText, timeZone: timeZone)
            let template = try ParameterTemplate(json: params.canonicalJSON)
            record = ScheduleRecord(
                name: name, job: job.name, cron: cronText, timeZone: timeZone, template: .object(template.values),
                misfire: misfire, origin: .cli)
            // The job's validators see the parameters of its next slot: a template they refuse is refused now.
            let slot = cron.nextFire(after: Date()) ?? Date()
            try job.validate(template.parameters(for: slot, timeZone: cron.timeZone))
        } catch let error as BatchError {
            throw APIError(.badRequest, error.message)
        }
        let start = schedules.start
        _ = try await scheduleStore.add(record) { now in start(record, now) }
        return APIResponse.json(try await listing(name), status: .created)
    }

    /// `DELETE /api/schedules/{name}`: 204.
    func removeSchedule(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await scheduleStore.remove(try Self.scheduleName(context))
        return Response(status: .noContent)
    }

    /// `POST /api/schedules/{name}/pause`.
    func pauseSchedule(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = try Self.scheduleName(context)
        try await scheduleStore.pause(name)
        return APIResponse.json(try await listing(name))
    }

    /// `POST /api/schedules/{name}/resume`: from now; slots missed while paused do not fire. 409 when the schedule
    /// is not paused (it is left as it is).
    func resumeSchedule(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = try Self.scheduleName(context)
        let start = schedules.start
        guard try await scheduleStore.resume(name, start: { schedule, now in start(schedule, now) }) else {
            throw APIError(.conflict, PostgresScheduleStore.notPausedMessage(name))
        }
        return APIResponse.json(try await listing(name))
    }

    /// `POST /api/schedules/{name}/trigger`: the firing recorded as the scheduler records it, then its start
    /// published; 202 with `sent` false when the broker did not take it (a worker sends it within seconds).
    func triggerSchedule(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = try Self.scheduleName(context)
        let firing = schedules.firing
        guard let entry = try await scheduleStore.trigger(name, plan: { try firing($0, $1) }) else {
            throw APIError(.conflict, "schedule '\(name)' has fired this second already; try again in a second")
        }
        var sent = false
        do {
            try await messaging.send(Command.scheduledStart(json: entry.command, registry: registry))
            try await scheduleStore.markSent([entry.id])
            sent = true
        } catch {
            logger.warning("a triggered start was not sent; a worker sends it", metadata: ["error": "\(error)"])
        }
        return APIResponse.json(
            ["schedule": .string(name), "slot": APIResponse.time(entry.slot), "sent": .bool(sent)], status: .accepted)
    }

    private func listing(_ name: String) async throws -> JSONValue {
        guard let listing = try await scheduleStore.list().first(where: { $0.schedule.name == name }) else {
            throw APIError(.notFound, "no schedule named '\(name)'")
        }
        return RecordJSON.schedule(listing)
    }

    private static func scheduleName(_ context: BasicRequestContext) throws -> String {
        try scheduleName(APIQuery.path(context, "name"))
    }

    /// A schedule's name: 1 to 200 characters, no spaces or control characters (as the CLI checks it).
    static func scheduleName(_ name: String) throws -> String {
        guard JobSchedule.isValidName(name) else {
            throw APIError(.badRequest, "a schedule name must be 1 to 200 characters without spaces")
        }
        return name
    }
}
