import Batch
import BatchPostgres
import Foundation

/// Renders executions for people (tables) and for scripts (JSON).
enum ExecutionFormatter {
    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        return date.formatted(
            .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false))
    }

    static func duration(_ start: Date?, _ end: Date?) -> String {
        guard let start else { return "-" }
        let seconds = (end ?? Date()).timeIntervalSince(start)
        return seconds < 60
            ? String(format: "%.1fs", seconds) : String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }

    /// `text` safe to print on a terminal: control characters (C0, DEL, C1: escape sequences, carriage returns,
    /// new lines) appear as `\u{1B}` and the like instead of acting. Whatever a message carried (a dead letter's
    /// body, an exit message quoting a parameter) cannot move the cursor, clear the screen or hide a line.
    static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    static func table(_ rows: [[String]]) -> String {
        let rows = rows.map { $0.map(printable) }
        guard let header = rows.first else { return "" }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func executions(_ executions: [JobExecution]) -> String {
        var rows = [["ID", "JOB", "STATUS", "STARTED", "DURATION", "WORKER", "PARAMETERS", "EXIT MESSAGE"]]
        for execution in executions {
            rows.append([
                String(execution.id), execution.jobName, execution.status.rawValue, time(execution.startTime),
                duration(execution.startTime, execution.endTime), execution.workerId ?? "-",
                String(execution.parameters.canonicalJSON.prefix(40)), String(execution.exitMessage.prefix(60)),
            ])
        }
        return table(rows)
    }

    /// An execution for people: its record, its steps, and with `totals` its own counters beside its instance's
    /// totals across all its executions.
    /// With `firing`, the schedule and slot that started it.
    static func detail(
        _ detail: JobExecutionDetail, totals: InstanceTotals? = nil, firing: ScheduleFiringReference? = nil
    ) -> String {
        let execution = detail.execution
        var lines = [
            "execution \(execution.id)  job \(execution.jobName)  instance \(execution.instanceId)",
            "status      \(execution.status.rawValue)",
            "parameters  \(execution.parameters.canonicalJSON)",
            "created     \(time(execution.createTime))",
            "started     \(time(execution.startTime))",
            "ended       \(time(execution.endTime))  (\(duration(execution.startTime, execution.endTime)))",
            "worker      \(execution.workerId ?? "-")",
        ]
        if let firing {
            lines.append("schedule    \(firing.schedule)  slot \(time(firing.slot))  fired \(time(firing.firedAt))")
        }
        if !execution.exitMessage.isEmpty { lines.append("exit        \(printable(execution.exitMessage))") }
        lines.append("")
        // Remote partitions add the worker that ran each and its attempts.
        let remote = detail.steps.contains { $0.attempt > 0 }
        var header = ["STEP", "STATUS", "READ", "WRITE", "FILTER", "COMMIT", "ROLLBACK", "SKIP", "DURATION"]
        if remote { header += ["WORKER", "ATTEMPTS"] }
        var rows = [header + ["EXIT MESSAGE"]]
        for step in ordered(detail.steps) {
            let counters = step.counters
            var row = [
                step.stepName, step.status.rawValue, String(counters.read), String(counters.write),
                String(counters.filter), String(counters.commit), String(counters.rollback),
                String(counters.readSkip + counters.processSkip + counters.writeSkip),
                duration(step.startTime, step.endTime),
            ]
            if remote {
                row += [step.workerId ?? (step.attempt > 0 ? "-" : ""), step.attempt > 0 ? "\(step.attempt)" : ""]
            }
            rows.append(row + [step.exitMessage])
        }
        lines.append(table(rows))
        if let totals {
            lines.append("")
            lines.append(Self.totals(own: InstanceTotals.counters(of: detail.steps), totals))
        }
        return lines.joined(separator: "\n")
    }

    /// The execution's own counters and the instance's totals, as a table.
    static func totals(own: StepCounters, _ totals: InstanceTotals) -> String {
        func cells(_ counters: StepCounters) -> [String] {
            [
                String(counters.read), String(counters.write), String(counters.filter), String(counters.commit),
                String(counters.rollback), String(counters.readSkip + counters.processSkip + counters.writeSkip),
            ]
        }
        let count = totals.executionIds.count
        let executions = count == 1 ? "1 execution" : "\(count) executions"
        let instance = "instance \(totals.instanceId) (\(executions)\(totals.isComplete ? "" : ", not all found"))"
        return table([
            ["TOTALS", "READ", "WRITE", "FILTER", "COMMIT", "ROLLBACK", "SKIP"],
            ["this execution"] + cells(own),
            [instance] + cells(totals.counters),
        ])
    }

    /// An execution for scripts: the detail's fields, its own counters (`executionTotals`) and its instance's
    /// totals across all its executions (`instanceTotals`).
    /// With `firing`, the schedule and slot that started it (`schedule`).
    static func json(
        _ detail: JobExecutionDetail, totals: InstanceTotals, firing: ScheduleFiringReference? = nil
    ) throws -> String {
        try json(
            DetailReport(
                execution: detail.execution, instance: detail.instance, steps: detail.steps,
                executionTotals: InstanceTotals.counters(of: detail.steps), instanceTotals: totals, schedule: firing))
    }

    /// What `execution ID --json` prints.
    private struct DetailReport: Encodable {
        let execution: JobExecution
        let instance: JobInstance
        let steps: [StepExecution]
        let executionTotals: StepCounters
        let instanceTotals: InstanceTotals
        let schedule: ScheduleFiringReference?
    }

    /// Steps in the order they ran, each partitioned step followed by its partitions sorted by name.
    static func ordered(_ steps: [StepExecution]) -> [StepExecution] {
        func base(_ step: StepExecution) -> Substring { step.stepName.split(separator: ":").first ?? "" }
        var firstSeen: [Substring: Int] = [:]
        for (index, step) in steps.enumerated() where firstSeen[base(step)] == nil { firstSeen[base(step)] = index }
        return steps.sorted { a, b in
            let (ka, kb) = (firstSeen[base(a)] ?? .max, firstSeen[base(b)] ?? .max)
            return ka != kb ? ka < kb : a.stepName < b.stepName
        }
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// Renders schedules for people (`swiftbatch schedule list`).
enum ScheduleFormatter {
    static func time(_ date: Date?) -> String { ExecutionFormatter.time(date) }

    static func table(_ listings: [ScheduleListing]) -> String {
        guard !listings.isEmpty else { return "no schedules" }
        var rows = [
            [
                "NAME", "JOB", "CRON", "ZONE", "MISFIRE", "STATE", "ORIGIN", "NEXT FIRE", "LAST SLOT", "EXECUTION",
                "PARAMETERS",
            ]
        ]
        for listing in listings {
            let schedule = listing.schedule
            let execution = listing.lastExecutionId.map { "\($0) \(listing.lastExecutionStatus ?? "")" } ?? "-"
            rows.append([
                schedule.name, schedule.job, schedule.cron, schedule.timeZone, schedule.misfire.rawValue,
                schedule.paused ? "paused" : "active", schedule.origin.rawValue,
                schedule.paused ? "-" : time(schedule.nextFireTime), time(listing.lastFiredSlot), execution,
                String(schedule.template.canonicalJSON.prefix(40)),
            ])
        }
        return ExecutionFormatter.table(rows)
    }
}
