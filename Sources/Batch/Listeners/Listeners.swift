/// Called around a job execution. `beforeJob` runs before the first step; `afterJob` runs after the last, whatever
/// the outcome, with the execution's final status (not yet stored). An error from either fails the job.
///
/// Several listeners run `before` in the order they were added and `after` in the reverse order.
public protocol JobListener: Sendable {
    /// Called before a job execution runs its steps.
    func beforeJob(_ execution: JobExecution) async throws
    /// Called after a job execution, regardless of success or failure.
    func afterJob(_ execution: JobExecution) async throws
}

/// Called around each step execution (and each partition's step execution). An error fails the step.
public protocol StepListener: Sendable {
    /// Called before the step does any work.
    func beforeStep(_ execution: StepExecution) async throws
    /// Called after the step's work, with its outcome (not yet stored).
    func afterStep(_ execution: StepExecution) async throws
}

/// Called around each chunk of a chunk step. An error rolls the chunk back and fails the step.
public protocol ChunkListener: Sendable {
    /// Called before the chunk's first item is read.
    func beforeChunk(_ context: StepContext) async throws
    /// Called after the chunk committed.
    func afterChunk(_ context: StepContext) async throws
    /// Called after the chunk failed and was rolled back, with the error.
    func onChunkError(_ error: any Error, context: StepContext) async
}

/// Called around each partition of a partitioned step. An error fails the partition.
public protocol PartitionListener: Sendable {
    /// Called before the partition runs, with its step execution.
    func beforePartition(_ execution: StepExecution) async throws
    /// Called after the partition ran, with its outcome.
    func afterPartition(_ execution: StepExecution) async throws
    /// Called when the partition failed, with the error.
    func onPartitionError(_ error: any Error, execution: StepExecution) async
}

/// Told of every item a fault-tolerant chunk step skips, when it decides to skip it.
public protocol SkipListener: Sendable {
    /// An item was skipped (it is recorded with the chunk's commit).
    func onSkip(_ item: SkippedItem, error: any Error) async
}

/// Told of every retry a fault-tolerant chunk step makes.
public protocol RetryListener: Sendable {
    /// Attempt number `attempt` (from 1) failed with `error` and will be retried.
    func onRetry(attempt: Int, error: any Error, context: StepContext) async
}

extension JobListener {
    /// Does nothing.
    public func beforeJob(_ execution: JobExecution) async throws {}
    /// Does nothing.
    public func afterJob(_ execution: JobExecution) async throws {}
}

extension StepListener {
    /// Does nothing.
    public func beforeStep(_ execution: StepExecution) async throws {}
    /// Does nothing.
    public func afterStep(_ execution: StepExecution) async throws {}
}

extension ChunkListener {
    /// Does nothing.
    public func beforeChunk(_ context: StepContext) async throws {}
    /// Does nothing.
    public func afterChunk(_ context: StepContext) async throws {}
    /// Does nothing.
    public func onChunkError(_ error: any Error, context: StepContext) async {}
}

extension PartitionListener {
    /// Does nothing.
    public func beforePartition(_ execution: StepExecution) async throws {}
    /// Does nothing.
    public func afterPartition(_ execution: StepExecution) async throws {}
    /// Does nothing.
    public func onPartitionError(_ error: any Error, execution: StepExecution) async {}
}

/// The listeners attached to a job or a step, sorted by kind. A value conforming to several listener protocols is
/// in several lists.
public struct Listeners: Sendable {
    var job: [any JobListener] = []
    var step: [any StepListener] = []
    @usableFromInline var chunk: [any ChunkListener] = []
    var partition: [any PartitionListener] = []
    @usableFromInline var skip: [any SkipListener] = []
    @usableFromInline var retry: [any RetryListener] = []

    /// No listeners.
    public init() {}

    /// The types of values added that conform to no listener protocol: a definition error, reported when the job
    /// is registered.
    var unrecognized: [String] = []

    /// Adds `listener` to every list whose protocol it conforms to; a value conforming to none is noted in
    /// ``unrecognized``.
    mutating func add(_ listener: any Sendable) {
        var used = false
        if let listener = listener as? any JobListener { job.append(listener); used = true }
        if let listener = listener as? any StepListener { step.append(listener); used = true }
        if let listener = listener as? any ChunkListener { chunk.append(listener); used = true }
        if let listener = listener as? any PartitionListener { partition.append(listener); used = true }
        if let listener = listener as? any SkipListener { skip.append(listener); used = true }
        if let listener = listener as? any RetryListener { retry.append(listener); used = true }
        if !used { unrecognized.append(String(describing: type(of: listener))) }
    }

    /// These listeners followed by `other`'s.
    func merged(with other: Listeners) -> Listeners {
        var result = self
        result.job += other.job
        result.step += other.step
        result.chunk += other.chunk
        result.partition += other.partition
        result.skip += other.skip
        result.retry += other.retry
        result.unrecognized += other.unrecognized
        return result
    }
}

/// Runs a listener callback, turning its error into a ``BatchError/Code/listenerFailed`` that names the listener.
@usableFromInline
func callListener<L>(_ listener: L, _ what: String, _ body: (L) async throws -> Void) async throws {
    do {
        try await body(listener)
    } catch let error as BatchError where error.code == .listenerFailed || error.code == .stopped {
        throw error
    } catch {
        throw BatchError(
            .listenerFailed, "\(type(of: listener)).\(what) failed: \(error.batchDescription)", underlying: error)
    }
}
