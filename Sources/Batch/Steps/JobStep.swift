/// A step of a job: a ``Step`` (tasklet), a ``ChunkStep`` or a ``PartitionStep``.
///
/// The engine creates the step execution, calls the step listeners and stores the outcome; a step only does its
/// work through the ``StepScope`` it is given.
public protocol JobStep: Sendable {
    /// The step's name, unique within its job; it identifies the step across restarts.
    var name: String { get }
    /// The listeners attached to this step (the job's listeners apply too).
    var listeners: Listeners { get set }
    /// Does the step's work.
    /// - Returns: ``BatchStatus/completed``, or ``BatchStatus/stopped`` when it stopped on request.
    /// - Throws: any error, which fails the step (``BatchError/Code/stopped`` ends it STOPPED instead).
    func execute(_ scope: StepScope) async throws -> BatchStatus
    /// Checks the definition (names, sizes) when the job is registered.
    func validate() throws
    /// Whether the step runs again when its job instance restarts even though an earlier execution completed it
    /// (Spring Batch's `allowStartIfComplete`), as a set-up step must: it then starts afresh, from an empty step
    /// context. False by default: a restart skips completed steps.
    var allowStartIfComplete: Bool { get }
}

extension JobStep {
    /// False: a restart skips the step once an execution completed it.
    public var allowStartIfComplete: Bool { false }

    /// Returns this step with `listener` attached: a ``StepListener``, ``ChunkListener``, ``PartitionListener``,
    /// ``SkipListener`` or ``RetryListener`` (or a value conforming to several). A ``JobListener`` belongs on the
    /// ``Job``; anything that is not a step-scoped listener does not compile.
    public func listener(_ listener: some StepScopedListener) -> Self {
        var copy = self
        copy.listeners.add(listener)
        return copy
    }

    /// Accepts any non-empty name without a colon (the colon separates a step from its partitions).
    public func validate() throws {
        try Self.validateName(name, of: "step")
    }

    static func validateName(_ name: String, of what: String) throws {
        guard !name.isEmpty, !name.contains(":"), name.count <= 200 else {
            throw BatchError(
                .invalidDefinition, "\(what) name '\(name)' is invalid: use 1 to 200 characters and no ':'")
        }
    }
}
