import Batch
import Foundation

/// A command to the workers: a JSON object with content type `application/json`.
///
/// ```json
/// {"command": "start",   "job": "daily-accounting", "params": {"date": "2026-11-25"}}
/// {"command": "stop",    "job": "daily-accounting"}
/// {"command": "stop",    "executionId": 42}
/// {"command": "restart", "executionId": 42}
/// {"command": "abandon", "executionId": 42}
/// {"command": "partition", "executionId": 42, "stepExecutionId": 317}   // on the partitions queue only
/// ```
///
/// A start may carry the header ``newInstanceOnlyHeader`` (`x-batch-new-instance-only: true`): see
/// ``newInstanceOnly``. It is a header, not a field, so that a worker that does not know it runs the start as a
/// plain one instead of refusing an unknown field (a fleet in the middle of a rolling upgrade).
///
/// Decoding is strict, because a typo must not start a job with the wrong parameters: an unknown command, an unknown
/// field (`"parms"`), a missing or empty job name, an execution id that is not a positive integer, both a job and an
/// execution id, `params` on anything but `start`, `params` that is neither an object nor a string holding one, or a
/// body over the size limit, each give an ``AMQPError`` (code ``AMQPError/Code/invalidMessage``) that says which.
/// So do a body that is not strict JSON (a key repeated in an object, an integer beyond 64 bits, invalid UTF-8: see
/// `JSONValue(parsing:)`), a `params` string that is not, and a NUL character (U+0000) in the job name or in any
/// parameter key or string, which PostgreSQL could not store (see ``JobParameters/validate()``).
public struct Command: Sendable, Hashable {
    /// What to do.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// Start a new execution of a job (a new instance, or a failed or stopped one again).
        case start
        /// Stop a running execution.
        case stop
        /// Run a stopped or failed execution's instance again.
        case restart
        /// Mark a stopped, failed or unknown execution abandoned.
        case abandon
        /// Run one remote partition (only on the partitions queue): `executionId` and `stepExecutionId`.
        case partition
    }

    /// What the command is about.
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        /// A job by name: for `stop`, `restart` and `abandon`, its most recent instance's last execution.
        case job(String)
        /// One job execution.
        case execution(Int64)

        /// `job <name>` or `execution <id>`, as logs show it.
        public var description: String {
            switch self {
            case .job(let name): "job \(name)"
            case .execution(let id): "execution \(id)"
            }
        }
    }

    /// What to do.
    public var action: Action
    /// What to do it to. `start` always names a job.
    public var target: Target
    /// The job parameters of a `start`; empty otherwise.
    public var parameters: [String: JSONValue]
    /// The partition's step execution of a `partition`; nil otherwise.
    public var stepExecutionId: Int64?
    /// A `start` that runs only a new instance: refused when the instance has any execution at all (not only a
    /// running or completed one), so that a start delivered twice runs once. The scheduler sets it; `false`
    /// otherwise. It travels as the header ``newInstanceOnlyHeader`` (see ``headers``), not in the body.
    public var newInstanceOnly: Bool

    /// The header of a start that runs only a new instance (``newInstanceOnly``): `true`.
    public static let newInstanceOnlyHeader = "x-batch-new-instance-only"

    /// The headers the command travels with beside its body: ``newInstanceOnlyHeader`` on a start that asks for it.
    public var headers: [String: AMQPFieldValue] {
        action == .start && newInstanceOnly ? [Self.newInstanceOnlyHeader: .bool(true)] : [:]
    }

    /// The command with what `headers` (a delivery's) say about it: ``newInstanceOnly`` for a start.
    public func with(headers: [String: AMQPFieldValue]) -> Command {
        var command = self
        command.newInstanceOnly = action == .start && headers[Self.newInstanceOnlyHeader] == .bool(true)
        return command
    }

    /// Creates a command; prefer ``start(_:parameters:)``, ``stop(job:)`` and the like.
    public init(
        action: Action, target: Target, parameters: [String: JSONValue] = [:], stepExecutionId: Int64? = nil,
        newInstanceOnly: Bool = false
    ) {
        self.action = action
        self.target = target
        self.parameters = parameters
        self.stepExecutionId = stepExecutionId
        self.newInstanceOnly = newInstanceOnly
    }

    /// Runs the remote partition `stepExecutionId` of job execution `executionId`:
    /// `{"command": "partition", "executionId": 42, "stepExecutionId": 317}`, sent to the partitions queue.
    public static func partition(executionId: Int64, stepExecutionId: Int64) -> Command {
        Command(action: .partition, target: .execution(executionId), stepExecutionId: stepExecutionId)
    }

    /// Starts `job` with `parameters`; with `newInstanceOnly`, only if that instance never ran (see
    /// ``newInstanceOnly``).
    public static func start(
        _ job: String, parameters: [String: JSONValue] = [:], newInstanceOnly: Bool = false
    ) -> Command {
        Command(action: .start, target: .job(job), parameters: parameters, newInstanceOnly: newInstanceOnly)
    }

    /// Stops the running execution of `job`'s most recent instance.
    public static func stop(job: String) -> Command { Command(action: .stop, target: .job(job)) }
    /// Stops execution `executionId`.
    public static func stop(executionId: Int64) -> Command { Command(action: .stop, target: .execution(executionId)) }
    /// Restarts the last execution of `job`'s most recent instance.
    public static func restart(job: String) -> Command { Command(action: .restart, target: .job(job)) }
    /// Restarts the instance of execution `executionId`.
    public static func restart(executionId: Int64) -> Command {
        Command(action: .restart, target: .execution(executionId))
    }
    /// Abandons the last execution of `job`'s most recent instance.
    public static func abandon(job: String) -> Command { Command(action: .abandon, target: .job(job)) }
    /// Abandons execution `executionId`.
    public static func abandon(executionId: Int64) -> Command {
        Command(action: .abandon, target: .execution(executionId))
    }

    /// Decodes a message body.
    ///
    /// - Parameters:
    ///   - body: the UTF-8 JSON bytes.
    ///   - limits: the size limit.
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    public init(decoding body: some Collection<UInt8>, limits: MessageLimits = MessageLimits()) throws {
        try self.init(StrictObject(body: body, kind: "command", limits: limits))
    }

    /// Decodes a message: its body, and what its headers say about the command (``with(headers:)``).
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    public init(
        decoding body: some Collection<UInt8>, headers: [String: AMQPFieldValue],
        limits: MessageLimits = MessageLimits()
    ) throws {
        self = try Command(decoding: body, limits: limits).with(headers: headers)
    }

    /// Decodes a scheduled start stored as JSON (a schedule's outbox): a start for a new instance only
    /// (``newInstanceOnly``), so that a copy delivered twice runs the slot once — when each slot is its own instance:
    /// not for a job of `registry` that makes `scheduledTime` non-identifying, whose slots share instances (a later
    /// slot runs a FAILED one again, as a plain start does). A job `registry` does not know is taken to identify it.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    public static func scheduledStart(json: JSONValue, registry: JobRegistry) throws -> Command {
        var command = try Command(json: json)
        guard command.action == .start, case .job(let name) = command.target else { return command }
        let identifying = (try? registry.job(named: name)).map {
            $0.identifyingParameters(JobParameters(command.parameters)).values[ParameterTemplate.scheduledTimeKey]
                != nil
        }
        command.newInstanceOnly = identifying ?? true
        return command
    }

    /// Decodes a parsed JSON value.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    public init(json: JSONValue) throws {
        try self.init(StrictObject(value: json, kind: "command"))
    }

    private init(_ object: StrictObject) throws {
        try object.rejectUnknownFields(allowed: ["command", "job", "executionId", "params", "stepExecutionId"])
        let name = try object.string("command")
        guard let action = Action(rawValue: name) else {
            throw object.error(
                "unknown command '\(name)'; expected one of \(Action.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var stepExecutionId: Int64?
        if action == .partition {
            guard !object.has("job"), !object.has("params") else {
                throw object.error("'partition' takes 'executionId' and 'stepExecutionId' only")
            }
            let id = try object.int("stepExecutionId")
            guard id > 0 else {
                throw object.error("field 'stepExecutionId' must be a positive integer, found \(id)")
            }
            stepExecutionId = id
        } else if object.has("stepExecutionId") {
            throw object.error("field 'stepExecutionId' is only allowed with 'partition'")
        }
        let target: Target
        switch (object.has("job"), object.has("executionId")) {
        case (true, true):
            throw object.error("give either 'job' or 'executionId', not both")
        case (true, false):
            let job = try object.nonEmptyString("job")
            guard !job.utf8.contains(0) else {
                throw object.error("field 'job' contains a NUL character (U+0000), which cannot be stored")
            }
            target = .job(job)
        case (false, true):
            guard action != .start else {
                throw object.error("'start' takes a job name ('job'), not an 'executionId'")
            }
            let id = try object.int("executionId")
            guard id > 0 else { throw object.error("field 'executionId' must be a positive integer, found \(id)") }
            target = .execution(id)
        case (false, false):
            throw object.error(action == .start ? "missing field 'job'" : "missing field 'job' or 'executionId'")
        }
        var parameters: [String: JSONValue] = [:]
        if let params = object.members["params"] {
            guard action == .start else { throw object.error("field 'params' is only allowed with 'start'") }
            switch params {
            case .object(let members):
                parameters = members
            case .string(let text):
                let parsed: JSONValue
                do { parsed = try JSONValue(parsing: text) } catch let error as BatchError {
                    throw object.error(
                        "field 'params' is a string that is not JSON: \(StrictObject.strip(error.message))")
                }
                guard case .object(let members) = parsed else {
                    throw object.error(
                        "field 'params' is a string that does not hold a JSON object (it holds \(parsed.typeName))")
                }
                parameters = members
            default:
                throw object.error(
                    "field 'params' must be an object or a string holding one, found \(params.typeName)")
            }
            do { try JobParameters(parameters).validate() } catch let error as BatchError {
                throw object.error(error.message)
            }
        }
        self.init(action: action, target: target, parameters: parameters, stepExecutionId: stepExecutionId)
    }

    /// Checks the command as decoding would: a non-empty job name without NUL, a positive execution id, `params`
    /// only on `start`, parameters that can be stored (see ``JobParameters/validate()``).
    ///
    /// Call it before publishing a command built in code, so that a worker never receives one it refuses.
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    public func validate() throws {
        _ = try Command(json: json)
    }

    /// The command as JSON.
    public var json: JSONValue {
        var members: [String: JSONValue] = ["command": .string(action.rawValue)]
        switch target {
        case .job(let name): members["job"] = .string(name)
        case .execution(let id): members["executionId"] = .int(id)
        }
        if action == .start && !parameters.isEmpty { members["params"] = .object(parameters) }
        if let stepExecutionId { members["stepExecutionId"] = .int(stepExecutionId) }
        return .object(members)
    }
}

extension Command: JSONMessage {}
