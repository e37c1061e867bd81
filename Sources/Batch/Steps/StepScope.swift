import Logging

/// What a running step works with: its ``StepContext``, its step execution as last stored, and the engine's
/// machinery (repository, listeners, stop signal). Created by the engine for each step execution.
public final class StepScope {
    /// What the step's user code sees.
    public let context: StepContext
    /// The step execution as last stored (its version is the one the next update must carry). A step keeps it
    /// current: the engine stores it when the step ends.
    public var execution: StepExecution

    let run: JobRun
    @usableFromInline let listeners: Listeners
    /// The step's metrics handles, chunk spans and progress clock.
    @usableFromInline let observation: StepObservation

    init(
        run: JobRun, execution: StepExecution, context: StepContext, listeners: Listeners,
        observation: StepObservation
    ) {
        self.observation = observation
        self.run = run
        self.execution = execution
        self.context = context
        self.listeners = listeners
    }

    @usableFromInline var repository: any JobRepository { run.repository }
    var logger: Logger { context.logger }

    /// The job execution's status read by the last chunk commit, not yet used for a stop check.
    private var statusAtLastCommit: ExecutionStatusSnapshot?

    /// Whether the job should stop at this boundary: a stop that arrived locally, else the status read by the last
    /// chunk commit, else the repository's answer.
    @usableFromInline func stopRequested() async throws -> Bool {
        if let snapshot = statusAtLastCommit {
            statusAtLastCommit = nil
            return run.stopSignal.observe(snapshot)
        }
        return try await run.stopSignal.check(executionId: run.execution.id, repository: run.repository)
    }

    /// Keeps the job execution's status a chunk commit read, for the next stop check.
    @usableFromInline func committed(_ transaction: any ChunkTransaction) {
        statusAtLastCommit = transaction.jobStatusAtCommit
    }
}
