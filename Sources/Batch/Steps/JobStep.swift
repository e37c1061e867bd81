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
}

extension JobStep {
    /// Returns this step with `listener` attached: any value conforming to ``StepListener``, ``ChunkListener`` or
    /// ``PartitionListener``.
    public func listener(_ listener: some Sendable) -> Self {
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
