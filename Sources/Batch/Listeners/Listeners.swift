/// What every listener conforms to, through one of its refinements: ``JobListener``, ``StepListener``,
/// ``ChunkListener``, ``PartitionListener``, ``SkipListener`` and ``RetryListener``.
///
/// ``Job/listener(_:)`` and ``JobStep/listener(_:)`` accept only listeners, so passing anything else is a compile
/// error. A value may conform to several listener protocols: it then receives the callbacks of each. Conforming to
/// `BatchListener` alone receives nothing.
public protocol BatchListener: Sendable {}

/// A listener a step accepts (``JobStep/listener(_:)``): every listener kind but ``JobListener``, whose callbacks
/// surround the whole job and so belong on the ``Job``.
public protocol StepScopedListener: BatchListener {}

/// Called around a job execution. `beforeJob` runs before the first step; `afterJob` runs after the last, whatever
/// the outcome, with the execution's final status (not yet stored). An error from either fails the job.
///
/// Several listeners run `before` in the order they were added and `after` in the reverse order.
///
/// Implement either form of each callback: the one with a `context` (a logger carrying the execution's metadata,
/// the job's resources) or the one without, which the default of the other calls.
public protocol JobListener: BatchListener {
    /// Called before a job execution runs its steps.
    func beforeJob(_ execution: JobExecution) async throws
    /// Called after a job execution, regardless of success or failure.
    func afterJob(_ execution: JobExecution) async throws
    /// Called before a job execution runs its steps, with the execution's logger and resources.
    func beforeJob(_ execution: JobExecution, context: JobListenerContext) async throws
    /// Called after a job execution, regardless of success or failure, with the execution's logger and resources.
    func afterJob(_ execution: JobExecution, context: JobListenerContext) async throws
}

/// Called around each step execution (and each partition's step execution). An error fails the step.
///
/// Implement either form of each callback: the one with the step's ``StepContext`` (its logger carries the
/// execution's metadata) or the one without, which the default of the other calls.
public protocol StepListener: StepScopedListener {
    /// Called before the step does any work.
    func beforeStep(_ execution: StepExecution) async throws
    /// Called after the step's work, with its outcome (not yet stored).
    func afterStep(_ execution: StepExecution) async throws
    /// Called before the step does any work, with the step's context.
    func beforeStep(_ execution: StepExecution, context: StepContext) async throws
    /// Called after the step's work, with its outcome (not yet stored) and the step's context.
    func afterStep(_ execution: StepExecution, context: StepContext) async throws
}

/// Called around each chunk of a chunk step. An error rolls the chunk back and fails the step.
public protocol ChunkListener: StepScopedListener {
    /// Called before the chunk's first item is read.
    func beforeChunk(_ context: StepContext) async throws
    /// Called after the chunk committed.
    func afterChunk(_ context: StepContext) async throws
    /// Called after the chunk failed and was rolled back, with the error.
    func onChunkError(_ error: any Error, context: StepContext) async
}

/// Called around each partition of a partitioned step. An error fails the partition.
///
/// Implement either form of `beforePartition` and `afterPartition`: with the partition's ``StepContext`` (its
/// logger carries the execution's metadata) or without, which the default of the other calls.
public protocol PartitionListener: StepScopedListener {
    /// Called before the partition runs, with its step execution.
    func beforePartition(_ execution: StepExecution) async throws
    /// Called after the partition ran, with its outcome.
    func afterPartition(_ execution: StepExecution) async throws
    /// Called before the partition runs, with its step execution and context.
    func beforePartition(_ execution: StepExecution, context: StepContext) async throws
    /// Called after the partition ran, with its outcome and context.
    func afterPartition(_ execution: StepExecution, context: StepContext) async throws
    /// Called when the partition failed, with the error.
    func onPartitionError(_ error: any Error, execution: StepExecution) async
}

/// Told of every item a fault-tolerant chunk step skips, when it decides to skip it. Implement either form of
/// `onSkip`: with the step's ``StepContext`` (its logger) or without, which the default of the other calls.
public protocol SkipListener: StepScopedListener {
    /// An item was skipped (it is recorded with the chunk's commit).
    func onSkip(_ item: SkippedItem, error: any Error) async
    /// An item was skipped, with the step's context.
    func onSkip(_ item: SkippedItem, error: any Error, context: StepContext) async
}

/// Told of every retry a fault-tolerant chunk step makes.
public protocol RetryListener: StepScopedListener {
    /// Attempt number `attempt` (from 1) failed with `error` and will be retried.
    func onRetry(attempt: Int, error: any Error, context: StepContext) async
}

extension JobListener {
    /// Does nothing.
    public func beforeJob(_ execution: JobExecution) async throws {}
    /// Does nothing.
    public func afterJob(_ execution: JobExecution) async throws {}
    /// Calls ``beforeJob(_:)``.
    public func beforeJob(_ execution: JobExecution, context: JobListenerContext) async throws {
        try await beforeJob(execution)
    }
    /// Calls ``afterJob(_:)``.
    public func afterJob(_ execution: JobExecution, context: JobListenerContext) async throws {
        try await afterJob(execution)
    }
}

extension StepListener {
    /// Does nothing.
    public func beforeStep(_ execution: StepExecution) async throws {}
    /// Does nothing.
    public func afterStep(_ execution: StepExecution) async throws {}
    /// Calls ``beforeStep(_:)``.
    public func beforeStep(_ execution: StepExecution, context: StepContext) async throws {
        try await beforeStep(execution)
    }
    /// Calls ``afterStep(_:)``.
    public func afterStep(_ execution: StepExecution, context: StepContext) async throws {
        try await afterStep(execution)
    }
}

extension SkipListener {
    /// Does nothing.
    public func onSkip(_ item: SkippedItem, error: any Error) async {}
    /// Calls ``onSkip(_:error:)``.
    public func onSkip(_ item: SkippedItem, error: any Error, context: StepContext) async {
        await onSkip(item, error: error)
    }
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
    /// Calls ``beforePartition(_:)``.
    public func beforePartition(_ execution: StepExecution, context: StepContext) async throws {
        try await beforePartition(execution)
    }
    /// Calls ``afterPartition(_:)``.
    public func afterPartition(_ execution: StepExecution, context: StepContext) async throws {
        try await afterPartition(execution)
    }
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

    /// Adds `listener` to every list whose protocol it conforms to.
    mutating func add(_ listener: any BatchListener) {
        if let listener = listener as? any JobListener { job.append(listener) }
        if let listener = listener as? any StepListener { step.append(listener) }
        if let listener = listener as? any ChunkListener { chunk.append(listener) }
        if let listener = listener as? any PartitionListener { partition.append(listener) }
        if let listener = listener as? any SkipListener { skip.append(listener) }
        if let listener = listener as? any RetryListener { retry.append(listener) }
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
