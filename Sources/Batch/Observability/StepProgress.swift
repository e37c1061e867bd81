import Foundation

/// How far a running chunk step has come: published by the worker as a `progress.<job>` event on `batch.events`,
/// at most once a second per step execution.
///
/// ```json
/// {"executionId": 42, "jobName": "daily-accounting", "stepName": "post-entries", "stepExecutionId": 97,
///  "read": 120000, "write": 119000, "filter": 1000, "skip": 0, "itemsPerSecond": 48210.5,
///  "done": 7340032, "total": 24117248, "estimatedEnd": "2026-11-25T10:00:04.120Z", "time": "2026-11-25T10:00:00.500Z"}
/// ```
/// `done`, `total` and `estimatedEnd` are present only when the reader knows its size (``ProgressReportingReader``);
/// a partition reports as its own step execution (`stepName` is `step:partition`).
public struct StepProgress: Sendable, Hashable {
    /// The job execution.
    public var executionId: Int64
    /// Its job.
    public var jobName: String
    /// The step execution's name (`step:partition` for a partition).
    public var stepName: String
    /// The step execution.
    public var stepExecutionId: Int64
    /// Items read so far by this step execution (committed chunks).
    public var read: Int64
    /// Items written so far.
    public var write: Int64
    /// Items filtered out so far.
    public var filter: Int64
    /// Items skipped so far (read, process and write skips).
    public var skip: Int64
    /// Items read per second since the previous report (since the step started, for the first).
    public var itemsPerSecond: Double
    /// How much of the input is done, in the reader's unit (bytes for files), when the reader knows.
    public var done: Int64?
    /// The input's size in the same unit, when the reader knows.
    public var total: Int64?
    /// When the step should have read everything at the current pace, when the reader knows its size.
    public var estimatedEnd: Date?
    /// When the report was made.
    public var time: Date

    /// Creates a report.
    public init(
        executionId: Int64, jobName: String, stepName: String, stepExecutionId: Int64, read: Int64, write: Int64,
        filter: Int64 = 0, skip: Int64 = 0, itemsPerSecond: Double, done: Int64? = nil, total: Int64? = nil,
        estimatedEnd: Date? = nil, time: Date = Date()
    ) {
        self.executionId = executionId
        self.jobName = jobName
        self.stepName = stepName
        self.stepExecutionId = stepExecutionId
        self.read = read
        self.write = write
        self.filter = filter
        self.skip = skip
        self.itemsPerSecond = itemsPerSecond
        self.done = done
        self.total = total
        self.estimatedEnd = estimatedEnd.map(Self.milliseconds)
        self.time = Self.milliseconds(time)
    }

    /// The fraction done (0...1), when the reader knows its size.
    public var fraction: Double? {
        guard let done, let total, total > 0 else { return nil }
        return min(1, max(0, Double(done) / Double(total)))
    }

    /// The routing key on the events exchange: `progress.<jobName>`.
    public var routingKey: String { "progress.\(jobName)" }

    /// The report as JSON.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "executionId": .int(executionId), "jobName": .string(jobName), "stepName": .string(stepName),
            "stepExecutionId": .int(stepExecutionId), "read": .int(read), "write": .int(write),
            "filter": .int(filter), "skip": .int(skip),
            "itemsPerSecond": .double(itemsPerSecond.isFinite ? (itemsPerSecond * 10).rounded() / 10 : 0),
            "time": .string(Self.format(time)),
        ]
        if let done { object["done"] = .int(done) }
        if let total { object["total"] = .int(total) }
        if let estimatedEnd { object["estimatedEnd"] = .string(Self.format(estimatedEnd)) }
        return .object(object)
    }

    /// Reads a report from JSON; fields other than these are ignored.
    /// - Throws: ``BatchError/Code/invalidJSON`` naming the field that is missing or of the wrong type.
    public init(json: JSONValue) throws {
        guard let object = json.objectValue else { throw Self.invalid("a progress event must be a JSON object") }
        func int(_ key: String) throws -> Int64 {
            guard let value = object[key]?.intValue else { throw Self.invalid("field '\(key)' must be an integer") }
            return value
        }
        func optionalInt(_ key: String) throws -> Int64? {
            guard let value = object[key], value != .null else { return nil }
            guard let int = value.intValue else { throw Self.invalid("field '\(key)' must be an integer") }
            return int
        }
        func string(_ key: String) throws -> String {
            guard let value = object[key]?.stringValue else { throw Self.invalid("field '\(key)' must be a string") }
            return value
        }
        func date(_ key: String) throws -> Date? {
            guard let value = object[key], value != .null else { return nil }
            guard let text = value.stringValue, let date = Self.parse(text) else {
                throw Self.invalid("field '\(key)' must be an ISO 8601 instant")
            }
            return date
        }
        guard let rate = object["itemsPerSecond"]?.doubleValue else {
            throw Self.invalid("field 'itemsPerSecond' must be a number")
        }
        self.init(
            executionId: try int("executionId"), jobName: try string("jobName"), stepName: try string("stepName"),
            stepExecutionId: try int("stepExecutionId"), read: try int("read"), write: try int("write"),
            filter: try optionalInt("filter") ?? 0, skip: try optionalInt("skip") ?? 0, itemsPerSecond: rate,
            done: try optionalInt("done"), total: try optionalInt("total"), estimatedEnd: try date("estimatedEnd"),
            time: try date("time") ?? Date())
    }

    private static func invalid(_ message: String) -> BatchError {
        BatchError(.invalidJSON, "invalid progress event: \(message)")
    }

    private static func milliseconds(_ date: Date) -> Date {
        let value = (date.timeIntervalSince1970 * 1000).rounded() / 1000
        return value.isFinite ? Date(timeIntervalSince1970: value) : date
    }

    private static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    private static func parse(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle()))
    }
}
