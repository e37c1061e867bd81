import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation

/// The JSON shapes of `openapi.json`'s schemas, from the records.
enum RecordJSON {
    static func job(_ job: Job) -> JSONValue {
        [
            "name": .string(job.name), "steps": .array(job.steps.map { .string($0.name) }),
            "nonIdentifying": .array(job.nonIdentifyingKeys.sorted().map(JSONValue.string)),
            "parametersType": job.parametersType.map(JSONValue.string) ?? .null,
            "schedules": .array(job.schedules.map { .string($0.name) }),
        ]
    }

    static func execution(_ execution: JobExecution) -> JSONValue {
        .object(executionMembers(execution))
    }

    static func executionMembers(_ execution: JobExecution) -> [String: JSONValue] {
        [
            "id": .int(execution.id), "instanceId": .int(execution.instanceId), "jobName": .string(execution.jobName),
            "status": .string(execution.status.rawValue), "parameters": execution.parameters.jsonValue,
            "exitCode": .string(execution.exitCode), "exitMessage": .string(execution.exitMessage),
            "createTime": APIResponse.time(execution.createTime), "startTime": APIResponse.time(execution.startTime),
            "endTime": APIResponse.time(execution.endTime), "lastUpdated": APIResponse.time(execution.lastUpdated),
            "workerId": execution.workerId.map(JSONValue.string) ?? .null,
        ]
    }

    static func counters(_ counters: StepCounters) -> JSONValue {
        [
            "read": .int(Int64(counters.read)), "write": .int(Int64(counters.write)),
            "filter": .int(Int64(counters.filter)), "commit": .int(Int64(counters.commit)),
            "rollback": .int(Int64(counters.rollback)), "readSkip": .int(Int64(counters.readSkip)),
            "processSkip": .int(Int64(counters.processSkip)), "writeSkip": .int(Int64(counters.writeSkip)),
        ]
    }

    static func stepMembers(_ step: StepExecution, name: String) -> [String: JSONValue] {
        [
            "id": .int(step.id), "name": .string(name), "status": .string(step.status.rawValue),
            "counters": counters(step.counters), "exitCode": .string(step.exitCode),
            "exitMessage": .string(step.exitMessage), "startTime": APIResponse.time(step.startTime),
            "endTime": APIResponse.time(step.endTime), "lastUpdated": APIResponse.time(step.lastUpdated),
        ]
    }

    /// An execution with its instance, its steps (a partitioned step's partitions — step executions named
    /// `<step>:<partition>` — inside it), its totals and the schedule firing that started it.
    static func detail(_ detail: JobExecutionDetail, firing: ScheduleFiringReference?) -> JSONValue {
        var members = executionMembers(detail.execution)
        members["instance"] = [
            "id": .int(detail.instance.id), "jobKey": .string(detail.instance.jobKey),
            "parameters": detail.instance.parameters.jsonValue,
        ]
        let topLevel = detail.steps.filter { !$0.stepName.contains(":") }
        members["steps"] = .array(
            topLevel.map { step in
                var json = stepMembers(step, name: step.stepName)
                let prefix = step.stepName + ":"
                json["partitions"] = .array(
                    detail.steps.filter { $0.stepName.hasPrefix(prefix) }.sorted { $0.stepName < $1.stepName }.map {
                        var partition = stepMembers($0, name: String($0.stepName.dropFirst(prefix.count)))
                        partition["workerId"] = $0.workerId.map { .string($0) } ?? .null
                        partition["attempt"] = .int(Int64($0.attempt))
                        return .object(partition)
                    })
                return .object(json)
            })
        members["counters"] = counters(InstanceTotals.counters(of: detail.steps))
        members["schedule"] =
            firing.map {
                [
                    "schedule": .string($0.schedule), "slot": APIResponse.time($0.slot),
                    "firedAt": APIResponse.time($0.firedAt),
                ]
            } ?? .null
        return .object(members)
    }

    static func worker(_ worker: WorkerStatus) -> JSONValue {
        [
            "id": .string(worker.id), "host": .string(worker.host), "pid": .int(Int64(worker.pid)),
            "started": APIResponse.time(worker.started), "heartbeat": APIResponse.time(worker.heartbeat),
            "heartbeatAgeSeconds": .double((worker.heartbeatAge * 1000).rounded() / 1000),
            "running": .int(Int64(worker.running)), "partitions": .int(Int64(worker.partitions)),
            "capacity": worker.capacity.map { .int(Int64($0)) } ?? .null,
        ]
    }

    static func schedule(_ listing: ScheduleListing) -> JSONValue {
        let schedule = listing.schedule
        return [
            "name": .string(schedule.name), "job": .string(schedule.job), "cron": .string(schedule.cron),
            "timeZone": .string(schedule.timeZone), "parameters": schedule.template,
            "misfire": .string(schedule.misfire.rawValue), "paused": .bool(schedule.paused),
            "origin": .string(schedule.origin.rawValue),
            "nextFireTime": schedule.paused ? .null : APIResponse.time(schedule.nextFireTime),
            "lastFiredSlot": APIResponse.time(listing.lastFiredSlot),
            "lastFiredAt": APIResponse.time(listing.lastFiredAt),
            "lastExecutionId": listing.lastExecutionId.map(JSONValue.int) ?? .null,
            "lastExecutionStatus": listing.lastExecutionStatus.map(JSONValue.string) ?? .null,
        ]
    }

    static func deadLetter(_ letter: DeadLetter) -> JSONValue {
        [
            "id": letter.id.map(JSONValue.string) ?? .null, "reason": letter.reason.map(JSONValue.string) ?? .null,
            "originalQueue": letter.originalQueue.map(JSONValue.string) ?? .null,
            "published": APIResponse.time(letter.published), "deadLettered": APIResponse.time(letter.deadLettered),
            "body": .string(letter.text),
        ]
    }
}
