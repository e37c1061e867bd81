/// A unit of work a ``Step`` runs: an async function given the ``StepContext``.
public protocol Tasklet: Sendable {
    /// Does the work. Throwing fails the step; throwing ``BatchError/Code/stopped`` (see
    /// ``StepContext/throwIfStopRequested()``), or returning once a stop was requested, ends it STOPPED.
    func execute(_ context: StepContext) async throws
}

/// A tasklet step: one piece of work, run once per step execution.
///
/// ```swift
/// Step("load-rates") { context in
///     let date = try context.parameters.date("date")
///     ...
/// }
/// ```
/// Changes the tasklet makes to ``StepContext/stepContext`` are stored when the step ends, whatever the outcome,
/// so a long tasklet can record its progress and pick it up on restart.
public struct Step: JobStep {
    /// The step's name.
    public let name: String
    /// The step's own listeners.
    public var listeners = Listeners()
    private let tasklet: @Sendable (StepContext) async throws -> Void
    /// Whether the step runs again on a restart after an execution completed it (``allowStartIfComplete(_:)``).
    public var allowStartIfComplete = false

    /// Creates a tasklet step from a closure.
    public init(_ name: String, _ tasklet: @escaping @Sendable (StepContext) async throws -> Void) {
        self.name = name
        self.tasklet = tasklet
    }

    /// Creates a tasklet step from a ``Tasklet`` value.
    public init(_ name: String, tasklet: some Tasklet) {
        self.init(name) { context in try await tasklet.execute(context) }
    }

    /// Returns this step marked to run again on every restart of its job instance, even after an execution
    /// completed it (for set-up steps: creating tables, fetching a file); see ``JobStep/allowStartIfComplete``.
    public func allowStartIfComplete(_ allow: Bool = true) -> Self {
        var copy = self
        copy.allowStartIfComplete = allow
        return copy
    }

    /// Runs the tasklet.
    public func execute(_ scope: StepScope) async throws -> BatchStatus {
        defer { scope.execution.context = scope.context.stepContext }
        try await tasklet(scope.context)
        scope.execution.counters.commit += 1
        // Returning after a stop was requested may leave work undone: the step ends STOPPED, not COMPLETED, so a
        // restart runs it again (Spring Batch's rule too).
        return scope.run.stopSignal.isRequested ? .stopped : .completed
    }
}
