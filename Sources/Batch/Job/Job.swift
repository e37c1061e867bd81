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
    private var validators: [@Sendable (JobParameters) throws -> Void] = []

    /// Creates a job from its steps.
    public init(_ name: String, @JobBuilder steps: () -> [any JobStep]) {
        self.name = name
        self.steps = steps()
    }

    /// Creates a job from an array of steps.
    public init(_ name: String, steps: [any JobStep]) {
        self.name = name
        self.steps = steps
    }

    /// Returns this job with `listener` attached: any value conforming to ``JobListener``, ``StepListener``,
    /// ``ChunkListener`` or ``PartitionListener`` (or several).
    public func listener(_ listener: some Sendable) -> Job {
        var copy = self
        copy.listeners.add(listener)
        return copy
    }

    /// Returns this job with a parameters validator: it runs before anything is stored; whatever it throws refuses
    /// the start with ``BatchError/Code/invalidParameters``.
    public func validator(_ validate: @escaping @Sendable (JobParameters) throws -> Void) -> Job {
        var copy = self
        copy.validators.append(validate)
        return copy
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

    /// Checks the definition: a valid name, at least one step, valid steps with unique names, and listeners that
    /// are listeners.
    /// - Throws: ``BatchError/Code/invalidDefinition``.
    public func validateDefinition() throws {
        guard !name.isEmpty, name.count <= 200, !name.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw BatchError(.invalidDefinition, "job name '\(name)' is invalid: use 1 to 200 characters, no spaces")
        }
        guard !steps.isEmpty else {
            throw BatchError(.invalidDefinition, "job '\(name)' has no steps")
        }
        let unrecognized = steps.reduce(listeners.unrecognized) { $0 + $1.listeners.unrecognized }
        guard unrecognized.isEmpty else {
            throw BatchError(
                .invalidDefinition,
                "job '\(name)': \(unrecognized.joined(separator: ", ")) is not a listener; conform it to JobListener, "
                    + "StepListener, ChunkListener, PartitionListener, SkipListener or RetryListener")
        }
        var seen: Set<String> = []
        for step in steps {
            try step.validate()
            guard seen.insert(step.name).inserted else {
                throw BatchError(.invalidDefinition, "job '\(name)' has two steps named '\(step.name)'")
            }
        }
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
