import Foundation

/// Splits a partitioned step's work into named partitions, each with its own execution context.
public protocol Partitioner: Sendable {
    /// The partitions: a name (unique, no `:`) and the initial context of each.
    /// - Parameters:
    ///   - gridSize: the number of partitions the step asks for (a hint).
    ///   - context: the partitioned step's context (parameters and all).
    func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext]
}

/// Combines the partitions' step executions into the partitioned step's own.
public protocol StepAggregator: Sendable {
    /// Updates `step` from its partitions. The engine sets the step's status to the worst of the partitions after.
    func aggregate(_ step: inout StepExecution, partitions: [StepExecution]) async throws
}

/// The default aggregation: the partitions' counters added up.
public struct SumStepAggregator: StepAggregator {
    /// Creates the aggregator.
    public init() {}

    /// Sets the step's counters to the sum of its partitions'.
    public func aggregate(_ step: inout StepExecution, partitions: [StepExecution]) async throws {
        step.counters = partitions.reduce(StepCounters()) { $0 + $1.counters }
    }
}

/// A partitioned step: a ``Partitioner`` splits the work into named partitions, each run as its own step execution
/// (named `"<step>:<partition>"`, with its own context) of the inner step, concurrently up to `maxConcurrency`. An
/// aggregator combines them; the step's status is the worst of its partitions. On restart only the partitions
/// that did not complete run again, from their saved contexts.
///
/// ```swift
/// PartitionStep("settle", partitions: 8, partitioner: AccountRanges(),
///               step: ChunkStep("settle-range", chunkSize: 100, reader: ..., writer: ...))
/// ```
public struct PartitionStep: JobStep {
    /// The step's name.
    public let name: String
    /// The number of partitions asked of the partitioner.
    public let gridSize: Int
    /// The most partitions that run at once.
    public let maxConcurrency: Int
    /// The step's own listeners (step, chunk and partition listeners reach the partitions too).
    public var listeners = Listeners()
    /// Whether the step runs again on a restart after an execution completed it (``allowStartIfComplete(_:)``).
    public var allowStartIfComplete = false
    /// Whether its partitions run across the fleet (``remote()``).
    public private(set) var isRemote = false
    let partitioner: any Partitioner
    let aggregator: any StepAggregator
    let step: any JobStep

    /// The key of the partitioned step's context that holds the partitions and their initial contexts.
    static let partitionsKey = "batch.partitions"

    /// Creates a partitioned step.
    /// - Parameters:
    ///   - name: the step's name.
    ///   - partitions: the number of partitions to ask the partitioner for.
    ///   - maxConcurrency: the most partitions run at once; defaults to `partitions`.
    ///   - partitioner: splits the work.
    ///   - aggregator: combines the partitions; defaults to adding up their counters.
    ///   - step: the step each partition runs.
    public init(
        _ name: String, partitions: Int, maxConcurrency: Int? = nil, partitioner: any Partitioner,
        aggregator: any StepAggregator = SumStepAggregator(), step: any JobStep
    ) {
        self.name = name
        self.gridSize = partitions
        self.maxConcurrency = maxConcurrency ?? partitions
        self.partitioner = partitioner
        self.aggregator = aggregator
        self.step = step
    }

    /// Creates a partitioned step whose partitioner is a function.
    public init(
        _ name: String, partitions: Int, maxConcurrency: Int? = nil,
        partitioner: @escaping @Sendable (Int, StepContext) async throws -> [String: ExecutionContext],
        aggregator: any StepAggregator = SumStepAggregator(), step: any JobStep
    ) {
        self.init(
            name, partitions: partitions, maxConcurrency: maxConcurrency,
            partitioner: ClosurePartitioner(body: partitioner), aggregator: aggregator, step: step)
    }

    /// Checks the names and sizes, and the inner step.
    public func validate() throws {
        try Self.validateName(name, of: "step")
        guard gridSize >= 1, maxConcurrency >= 1 else {
            throw BatchError(
                .invalidDefinition, "partition step '\(name)': partitions and maxConcurrency must be at least 1")
        }
        try step.validate()
    }

    /// Returns this step marked to run again on every restart of its job instance, even after an execution
    /// completed it (for set-up steps: creating tables, fetching a file); see ``JobStep/allowStartIfComplete``.
    public func allowStartIfComplete(_ allow: Bool = true) -> Self {
        var copy = self
        copy.allowStartIfComplete = allow
        return copy
    }

    /// Returns this step with its partitions run across the fleet: the worker running the job (the manager)
    /// stores every partition's step execution in one transaction and sends one message per partition to
    /// `batch.partitions`; any worker runs each, the manager waits for them (holding no capacity slot) and
    /// aggregates as for local partitions. A partition whose worker is lost is sent again, resuming from its last
    /// committed chunk, up to the attempt limit. `maxConcurrency` does not apply: the fleet's capacity bounds them.
    ///
    /// Without a ``RemotePartitionDispatcher`` (`swiftbatch run`, an operator of its own) the partitions run
    /// locally. Files the partitions read must be at the same path on every worker.
    public func remote(_ remote: Bool = true) -> Self {
        var copy = self
        copy.isRemote = remote
        return copy
    }

    /// Runs the partitions and aggregates them.
    public func execute(_ scope: StepScope) async throws -> BatchStatus {
        if isRemote, let dispatcher = scope.run.dispatcher {
            return try await executeRemotely(scope, dispatcher: dispatcher)
        }
        let (partitions, resumed) = try await partitionsToRun(scope)
        let listeners = scope.listeners.merged(with: step.listeners)
        let run = scope.run
        let (results, leftOver) = try await withThrowingTaskGroup(of: StepExecution.self) { group in
            var results: [StepExecution] = []
            var iterator = partitions.sorted { $0.key < $1.key }.makeIterator()
            var leftOver = false
            func addNext() -> Bool {
                guard let (partition, context) = iterator.next() else { return false }
                // After a stop, the partitions still queued are not started: they have no execution, and a restart
                // runs them from their first context.
                guard !run.stopSignal.isRequested else {
                    leftOver = true
                    return false
                }
                group.addTask {
                    try await runPartition(
                        partition, context: context, resumed: resumed, run: run, listeners: listeners)
                }
                return true
            }
            for _ in 0..<maxConcurrency where !addNext() { break }
            while let result = try await group.next() {
                results.append(result)
                _ = addNext()
            }
            return (results.sorted { $0.stepName < $1.stepName }, leftOver)
        }
        let status = try await aggregate(results, into: scope)
        return leftOver ? status.combined(with: .stopped) : status
    }

    /// Aggregates the partitions' final step executions into the step's: the status is the worst of them.
    func aggregate(_ results: [StepExecution], into scope: StepScope) async throws -> BatchStatus {
        var execution = scope.execution
        try await aggregator.aggregate(&execution, partitions: results)
        scope.execution = execution
        let status = results.map(\.status).combined()
        if status == .failed || status == .unknown || status == .abandoned {
            let failed = results.filter { $0.status == status }.map(\.stepName).joined(separator: ", ")
            throw BatchError(.stepFailed, "partitions \(status.rawValue): \(failed)")
        }
        return status
    }

    /// The partitions with their initial contexts: from the partitioner on a first run, from the saved context
    /// on a restart (so a restart runs the same partitions even if the partitioner would now answer otherwise).
    /// `resumed` says they came from the saved context: only then are partitions an earlier execution completed
    /// left out (a step that runs again after completing, ``allowStartIfComplete``, runs every partition).
    func partitionsToRun(
        _ scope: StepScope
    ) async throws -> (partitions: [String: ExecutionContext], resumed: Bool) {
        if let saved = scope.execution.context[Self.partitionsKey]?.objectValue {
            return (saved.mapValues { ExecutionContext($0.objectValue ?? [:]) }, true)
        }
        let partitions = try await partitioner.partition(gridSize: gridSize, context: scope.context)
        for partition in partitions.keys { try Self.validateName(partition, of: "partition") }
        var execution = scope.execution
        execution.context[Self.partitionsKey] = .object(partitions.mapValues(\.jsonValue))
        scope.execution = try await scope.repository.updateStepExecution(execution)
        scope.context.stepContext = scope.execution.context
        return (partitions, false)
    }

    /// A partition's last execution in the instance when the step resumes (nil on a first run); a completed one is
    /// not run again, and says so in the log.
    func previousExecution(ofPartition stepName: String, resumed: Bool, run: JobRun) async throws -> StepExecution? {
        guard resumed else { return nil }
        let previous = try await run.repository.lastStepExecution(
            instanceId: run.execution.instanceId, stepName: stepName)
        if let previous, previous.status == .completed {
            run.logger.debug("partition already completed, not run again", metadata: ["step.name": "\(stepName)"])
        }
        return previous
    }

    private func runPartition(
        _ partition: String, context: ExecutionContext, resumed: Bool, run: JobRun, listeners: Listeners
    ) async throws -> StepExecution {
        let stepName = "\(name):\(partition)"
        let previous = try await previousExecution(ofPartition: stepName, resumed: resumed, run: run)
        if let previous, previous.status == .completed { return previous }
        return try await StepRunner.run(
            step, as: stepName, partition: partition, startContext: previous?.context ?? context, in: run,
            listeners: listeners)
    }
}

private struct ClosurePartitioner: Partitioner {
    let body: @Sendable (Int, StepContext) async throws -> [String: ExecutionContext]
    func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        try await body(gridSize, context)
    }
}

extension PartitionStep: ParameterCheckingStep {
    /// Checks the inner step's parameters (a chunk size read from them, for example) before the job starts.
    /// - Throws: what the inner step's check throws.
    public func checkParameters(_ parameters: JobParameters) throws {
        try (step as? any ParameterCheckingStep)?.checkParameters(parameters)
    }
}
