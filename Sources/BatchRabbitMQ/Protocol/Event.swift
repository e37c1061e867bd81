import Batch
import Foundation

/// A job execution's change of state, published to the events exchange with routing key `job.<name>.<STATUS>`:
///
/// ```json
/// {"executionId": 42, "jobName": "daily-accounting", "instanceId": 7, "status": "COMPLETED",
///  "exitMessage": null, "time": "2026-11-25T10:00:00.000Z"}
/// ```
///
/// Every field is required (`exitMessage` may be null); `status` is one of ``BatchStatus``'s names and `time` an
/// ISO 8601 instant. Other fields are ignored, so that publishers can add some without breaking subscribers.
public struct Event: Sendable, Hashable {
    /// The execution that changed.
    public var executionId: Int64
    /// Its job.
    public var jobName: String
    /// Its job instance.
    public var instanceId: Int64
    /// Its new status.
    public var status: BatchStatus
    /// Its exit message, if any (an error, or why it stopped).
    public var exitMessage: String?
    /// When it changed, to the millisecond.
    public var time: Date
    /// The step whose status this is, for a step event (a remote partition: `"<step>:<partition>"`); nil for a job
    /// execution's event.
    public var stepName: String?
    /// The step execution of a step event; nil for a job execution's event.
    public var stepExecutionId: Int64?

    /// Creates an event; `time` is kept to the millisecond, as it travels.
    public init(
        executionId: Int64, jobName: String, instanceId: Int64, status: BatchStatus, exitMessage: String? = nil,
        time: Date = Date()
    ) {
        self.executionId = executionId
        self.jobName = jobName
        self.instanceId = instanceId
        self.status = status
        self.exitMessage = exitMessage
        self.time = Date(timeIntervalSince1970: (time.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// A step event: the step execution `stepExecutionId` (named `stepName`) of execution `executionId` changed to
    /// `status`; published with routing key `step.<job>.<STATUS>`.
    public static func step(
        executionId: Int64, jobName: String, instanceId: Int64, stepName: String, stepExecutionId: Int64,
        status: BatchStatus, exitMessage: String? = nil, time: Date = Date()
    ) -> Event {
        var event = Event(
            executionId: executionId, jobName: jobName, instanceId: instanceId, status: status,
            exitMessage: exitMessage, time: time)
        event.stepName = stepName
        event.stepExecutionId = stepExecutionId
        return event
    }

    /// The routing key: `job.<jobName>.<STATUS>`, or `step.<jobName>.<STATUS>` for a step event.
    public var routingKey: String {
        stepName == nil
            ? BatchTopology.eventRoutingKey(jobName: jobName, status: status)
            : BatchTopology.stepEventRoutingKey(jobName: jobName, status: status)
    }

    /// Decodes a message body.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    public init(decoding body: some Collection<UInt8>, limits: MessageLimits = MessageLimits()) throws {
        try self.init(StrictObject(body: body, kind: "event", limits: limits))
    }

    /// Decodes a parsed JSON value.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    public init(json: JSONValue) throws {
        try self.init(StrictObject(value: json, kind: "event"))
    }

    private init(_ object: StrictObject) throws {
        let statusName = try object.string("status")
        guard let status = BatchStatus(rawValue: statusName) else {
            throw object.error(
                "unknown status '\(statusName)'; expected one of "
                    + BatchStatus.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard object.has("exitMessage") else { throw object.error("missing field 'exitMessage' (it may be null)") }
        let timeText = try object.string("time")
        guard let time = Self.parseTime(timeText) else {
            throw object.error("field 'time' must be an ISO 8601 instant, found '\(timeText)'")
        }
        self.init(
            executionId: try object.id("executionId"), jobName: try object.nonEmptyString("jobName"),
            instanceId: try object.id("instanceId"), status: status,
            exitMessage: try object.optionalString("exitMessage"),
            time: time)
        stepName = try object.optionalString("stepName")
        stepExecutionId = try object.optionalID("stepExecutionId")
        // A step event names its step and its step execution; a job event neither.
        guard (stepName == nil) == (stepExecutionId == nil) else {
            throw object.error("fields 'stepName' and 'stepExecutionId' come together or not at all")
        }
    }

    private static func parseTime(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return date
        }
        return try? Date(text, strategy: Date.ISO8601FormatStyle())
    }

    /// `2026-11-25T10:00:00.123Z`: whole seconds from the formatter, milliseconds rounded here (formatting the
    /// fraction would truncate 0.123 stored as 0.12299999 to .122).
    private static func format(_ time: Date) -> String {
        // A date no clock gives (far past or future, not finite) is written in whole seconds rather than trapping.
        guard let milliseconds = Int64(exactly: (time.timeIntervalSince1970 * 1000).rounded()) else {
            return time.formatted(Date.ISO8601FormatStyle())
        }
        let (seconds, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let adjusted = fraction < 0 ? (seconds - 1, fraction + 1000) : (seconds, fraction)
        if let text = formatFast(seconds: adjusted.0, milliseconds: adjusted.1) { return text }
        let whole = Date(timeIntervalSince1970: TimeInterval(adjusted.0)).formatted(Date.ISO8601FormatStyle())
        let digits = String(adjusted.1)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// ``format(_:)`` from 1970 to 9999 (every clock's), digit by digit: the same text without a formatter.
    /// (Foundation's calendar is Julian before 1582, so earlier dates are left to it.)
    private static func formatFast(seconds: Int64, milliseconds: Int64) -> String? {
        guard (0..<253_402_300_800).contains(seconds) else { return nil }
        let (days, second) = seconds.quotientAndRemainder(dividingBy: 86_400)  // seconds ≥ 0: no negative remainder
        let (year, month, day) = CivilCalendar.date(fromDays: days)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func append(_ value: Int64, digits: Int) {
            var divisor: Int64 = 1
            for _ in 1..<digits { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(48 + value / divisor % 10))
                divisor /= 10
            }
        }
        append(year, digits: 4)
        bytes.append(45)  // -
        append(month, digits: 2)
        bytes.append(45)
        append(day, digits: 2)
        bytes.append(84)  // T
        append(second / 3600, digits: 2)
        bytes.append(58)  // :
        append(second % 3600 / 60, digits: 2)
        bytes.append(58)
        append(second % 60, digits: 2)
        bytes.append(46)  // .
        append(milliseconds, digits: 3)
        bytes.append(90)  // Z
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The event as JSON.
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "executionId": .int(executionId), "jobName": .string(jobName), "instanceId": .int(instanceId),
            "status": .string(status.rawValue), "exitMessage": exitMessage.map(JSONValue.string) ?? .null,
            "time": .string(Self.format(time)),
        ]
        if let stepName {
            members["stepName"] = .string(stepName)
            members["stepExecutionId"] = stepExecutionId.map(JSONValue.int) ?? .null
        }
        return .object(members)
    }
}

extension Event: JSONMessage {}
