/// A parameterized, reusable batch job: a name, steps run in order, listeners and an optional parameters
/// validator.
///
/// ```swift
/// let job = Job("daily-accounting") {
///     Step("load-rates") { context in ... }
///     ChunkStep("post-entries", chunkSize: 500, reader: ..., processor: ..., writer: ...)
/// }
/// .listener(AuditListener())
/// .validator { parameters in _ = try parameters.date("date") }
/// ```
public struct Job: Sendable {
    /// The job's name, unique in its registry.
    public let name: String
    /// The steps, in the order they run.
    public let steps: [any JobStep]
    /// Listeners of every kind attached at the job level (step, chunk and partition listeners reach every step).
    public private(set) var listeners = Listeners()
    /// Parameters that do not identify the instance (for example a chunk size or a delay).
    public private(set) var nonIdentifyingKeys: Set<String> = []
    /// The application resources this job's steps reach through ``StepContext/resource(_:)``, laid over the
    /// operator's.
    public private(set) var resources = JobResources()
    /// The name of the type the job's parameters decode as (``init(_:parameters:steps:)``), or nil for a job that
    /// reads its parameters by key only.
    public private(set) var parametersType: String?
    /// The schedules that start this job by themselves (``schedule(_:name:timeZone:parameters:misfire:)``).
    public internal(set) var schedules: [JobSchedule] = []
    /// Why a schedule given to ``schedule(_:name:timeZone:parameters:misfire:)`` was refused, reported by
    /// ``validateDefinition()``.
    var scheduleErrors: [BatchError] = []
    private var validators: [@Sendable (JobParameters) throws -> Void] = []

    /// Creates a job from its steps.
    public init(_ name: String, @JobBuilder steps: () -> [any JobStep]) {
        self.name = name
        self.steps = steps()
    }

    /// Creates a job whose parameters are the `Decodable` type `parameters`: a start whose parameters do not decode
    /// as it is refused before anything is stored, with a message naming the parameter at fault; the steps read
    /// them with ``StepContext/parameters(as:)``. The keyed getters (``JobParameters/string(_:)``, ...) still work.
    ///
    /// ```swift
    /// struct Daily: Codable { var date: CalendarDay; var rows: Int? }
    /// let job = Job("daily", parameters: Daily.self) {
    ///     Step("load") { context in
    ///         let daily = try context.parameters(as: Daily.self)
    ///         ...
    ///     }
    /// }
    /// ```
    public init<Parameters: Decodable & SendableMetatype>(
        _ name: String, parameters: Parameters.Type, @JobBuilder steps: () -> [any JobStep]
    ) {
        self.init(name, steps: steps)
        self.parametersType = "\(Parameters.self)"
        validators.append { _ = try $0.decode(as: Parameters.self) }
    }

    /// Creates a job from an array of steps.
    public init(_ name: String, steps: [any JobStep]) {
        self.name = name
        self.steps = steps
    }

    /// Returns this job with `listener` attached: a ``JobListener``, ``StepListener``, ``ChunkListener``,
    /// ``PartitionListener``, ``SkipListener`` or ``RetryListener`` (or a value conforming to several). Step, chunk,
    /// partition, skip and retry listeners attached to the job reach every step. Anything that is not a listener
    /// does not compile.
    public func listener(_ listener: some BatchListener) -> Job {
        var copy = self
        copy.listeners.add(listener)
        return copy
    }

    /// Returns this job with `value` registered as the resource `key` for its steps
    /// (``StepContext/resource(_:)``).
    public func resource<Key: ResourceKey>(_ key: Key.Type, _ value: Key.Value) -> Job {
        var copy = self
        copy.resources.set(key, to: value)
        return copy
    }

    /// Returns this job with a factory for the resource `key`: run once, when a step first asks for it, and shared
    /// by the job's executions in this process from then on.
    /// - Parameters:
    ///   - key: the key steps read the resource with.
    ///   - make: makes the resource.
    ///   - close: releases it (shuts a pool down) when the operator closes its resources
    ///     (``JobOperator/closeResources()``).
    public func resource<Key: ResourceKey>(
        _ key: Key.Type, make: @escaping @Sendable () async throws -> Key.Value,
        close: (@Sendable (Key.Value) async -> Void)? = nil
    ) -> Job {
        var copy = self
        copy.resources.set(key, make: make, close: close)
        return copy
    }

    /// Returns this job with `value` registered under its own type (``StepContext/resource(ofType:)``).
    public func resource<Value: Sendable>(_ value: Value) -> Job {
        var copy = self
        copy.resources.set(value)
        return copy
    }

    /// Returns this job with a parameters validator: it runs before anything is stored; whatever it throws refuses
    /// the start with ``BatchError/Code/invalidParameters``.
    public func validator(_ validate: @escaping @Sendable (JobParameters) throws -> Void) -> Job {
        var copy = self
        copy.validators.append(validate)
        return copy
    }

    /// Returns this job with a validator of its parameters decoded as `type` (typically the job's typed
    /// parameters, ``init(_:parameters:steps:)``): parameters that do not decode, or that `validate` refuses, refuse
    /// the start before anything is stored.
    ///
    /// ```swift
    /// Job("daily", parameters: Daily.self) { ... }
    ///     .validator(as: Daily.self) { daily in
    ///         guard (1...10_000).contains(daily.rows ?? 100) else {
    ///             throw BatchError(.invalidParameters, "job parameter 'rows' must be between 1 and 10000")
    ///         }
    ///     }
    /// ```
    public func validator<Parameters: Decodable & SendableMetatype>(
        as type: Parameters.Type, _ validate: @escaping @Sendable (Parameters) throws -> Void
    ) -> Job {
        validator { parameters in try validate(parameters.decode(as: type)) }
    }

    /// Returns this job with `keys` marked as not identifying: they are passed to the steps but do not make a new
    /// instance.
    public func nonIdentifying(_ keys: String...) -> Job {
        var copy = self
        copy.nonIdentifyingKeys.formUnion(keys)
        return copy
    }

    /// The identifying subset of `parameters`.
    public func identifyingParameters(_ parameters: JobParameters) -> JobParameters {
        parameters.removing(nonIdentifyingKeys)
    }

    /// Runs the validators, then the steps' own parameter checks (see ``ParameterCheckingStep``): the operator
    /// calls this before it stores anything, so refused parameters leave no instance and no execution behind.
    /// - Throws: ``BatchError/Code/invalidParameters`` with the validator's or the step's message.
    public func validate(_ parameters: JobParameters) throws {
        let checks =
            validators
            + steps.compactMap { step in (step as? any ParameterCheckingStep).map { $0.checkParameters } }
        for check in checks {
            do {
                try check(parameters)
            } catch let error as BatchError where error.code == .invalidParameters {
                throw error
            } catch {
                throw BatchError(
                    .invalidParameters, "invalid parameters for job '\(name)': \(error.batchDescription)",
                    underlying: error)
            }
        }
    }

    /// The longest job name, in bytes of UTF-8: names go into AMQP routing keys (`job.<name>.<STATUS>`), which hold
    /// at most 255.
    public static let maxNameLength = 200

    /// Checks the definition: a valid name, at least one step, valid steps with unique names, valid schedules with
    /// unique names.
    /// - Throws: ``BatchError/Code/invalidDefinition``.
    public func validateDefinition() throws {
        guard !name.isEmpty, name.utf8.count <= Self.maxNameLength,
            !name.contains(where: { $0.isWhitespace || $0.isNewline })
        else {
            throw BatchError(
                .invalidDefinition,
                "job name '\(name.prefix(Self.maxNameLength))' is invalid: use 1 to \(Self.maxNameLength) bytes of "
                    + "UTF-8, no spaces")
        }
        guard !steps.isEmpty else {
            throw BatchError(.invalidDefinition, "job '\(name)' has no steps")
        }
        var seen: Set<String> = []
        for step in steps {
            try step.validate()
            guard seen.insert(step.name).inserted else {
                throw BatchError(.invalidDefinition, "job '\(name)' has two steps named '\(step.name)'")
            }
        }
        try validateSchedules()
    }
}

/// A step that reads job parameters it can check before the job starts (a chunk size, a partition count): the
/// job's ``Job/validate(_:)`` calls ``checkParameters(_:)`` after the validators, before anything is stored.
public protocol ParameterCheckingStep: JobStep {
    /// Throws when `parameters` would fail this step.
    /// - Throws: ``BatchError/Code/invalidParameters`` naming the parameter and what is wrong with it.
    func checkParameters(_ parameters: JobParameters) throws
}

/// Builds a job's list of steps from a block, with `if`, `for` and optional steps.
@resultBuilder
public enum JobBuilder {
    /// One step.
    public static func buildExpression(_ step: any JobStep) -> [any JobStep] { [step] }
    /// Several steps.
    public static func buildExpression(_ steps: [any JobStep]) -> [any JobStep] { steps }
    /// A block's steps, in order.
    public static func buildBlock(_ parts: [any JobStep]...) -> [any JobStep] { parts.flatMap { $0 } }
    /// An `if` without `else`.
    public static func buildOptional(_ part: [any JobStep]?) -> [any JobStep] { part ?? [] }
    /// The first branch of an `if`/`else`.
    public static func buildEither(first part: [any JobStep]) -> [any JobStep] { part }
    /// The second branch of an `if`/`else`.
    public static func buildEither(second part: [any JobStep]) -> [any JobStep] { part }
    /// A `for` loop.
    public static func buildArray(_ parts: [[any JobStep]]) -> [any JobStep] { parts.flatMap { $0 } }
}
