/// Where job instances, job executions and step executions live: the in-memory ``InMemoryJobRepository`` for
/// tests and `run` without a database, PostgreSQL (`BatchPostgres`) for real deployments.
///
/// Every implementation gives the same guarantees, checked by the shared repository behaviour tests:
/// - **Optimistic versions.** Every update carries the version it read; the stored version must still be that
///   one, and moves on by one. Otherwise the update is refused with ``BatchError/Code/optimisticLock`` and
///   nothing is written. The returned record carries the new version.
/// - **One running execution per instance.** ``createJobExecution(jobName:jobKey:parameters:workerId:)`` decides
///   atomically: two callers racing to start the same instance cannot both win.
/// - **Constant cost per launch.** Creating an execution does the same work however much history an instance has.
public protocol JobRepository: Sendable {
    /// Finds or creates the instance `(jobName, jobKey)` and creates a new STARTING execution of it, atomically
    /// applying the start rules:
    /// - the last execution is STARTING, STARTED or STOPPING → ``BatchError/Code/alreadyRunning``;
    /// - it is UNKNOWN → ``BatchError/Code/endedAbnormally``;
    /// - it is COMPLETED → ``BatchError/Code/alreadyComplete``; ABANDONED → ``BatchError/Code/abandoned``;
    /// - STOPPED or FAILED while remote partitions of it still run on workers (STARTED or STOPPING with a worker)
    ///   → ``BatchError/Code/alreadyRunning``: a new execution would run their items beside them;
    /// - otherwise (no execution, STOPPED or FAILED) a new execution is created. It carries over the job
    ///   execution context of the last execution, so a restart sees what the failed run saved.
    ///
    /// - Parameters:
    ///   - jobName: the job's name.
    ///   - jobKey: the instance key of the identifying parameters (``JobParameters/instanceKey``).
    ///   - parameters: all parameters of the run; stored with a new instance and with the execution.
    ///   - workerId: the worker that will run the execution, if any.
    ///   - newInstanceOnly: refuse (``BatchError/Code/instanceExists``) when the instance has any execution at all,
    ///     whatever its status: a scheduled slot's start, which must run once even if delivered twice.
    /// - Returns: the new execution, its version 0.
    func createJobExecution(
        jobName: String, jobKey: String, parameters: JobParameters, workerId: String?, newInstanceOnly: Bool
    ) async throws -> JobExecution

    /// Creates a new execution by the same rules as
    /// ``createJobExecution(jobName:jobKey:parameters:workerId:newInstanceOnly:)`` and, when the launch names its
    /// first step, may also store it STARTED and start that step (``startStep(_:)``'s rules) in the same
    /// transaction: a store that does so saves the engine a round trip per job. The default creates the execution
    /// STARTING and leaves the step to the engine.
    /// - Throws: what `createJobExecution` throws; nothing is stored then.
    func launch(_ launch: JobLaunch) async throws -> JobLaunchResult

    /// Stores changes to an execution (status, start and end times, exit code and message, context, worker); its
    /// job name, parameters and create time stay as the launch stored them.
    /// - Returns: the stored execution with its new version and `lastUpdated`.
    /// - Throws: ``BatchError/Code/optimisticLock`` when its version is stale,
    ///   ``BatchError/Code/executionNotFound`` when it does not exist.
    func updateJobExecution(_ execution: JobExecution) async throws -> JobExecution

    /// Stores `execution`, which ``JobOperator/abandon(executionId:)`` made ABANDONED, as
    /// ``updateJobExecution(_:)`` does, but only while it is the last execution of its instance, decided atomically
    /// with launches: a launch racing the abandon either comes first (and the abandon is refused) or sees the
    /// instance abandoned. A default implementation checks, then updates, without that guarantee.
    /// - Throws: ``BatchError/Code/cannotAbandon`` when the instance has a later execution; what
    ///   ``updateJobExecution(_:)`` throws.
    func abandonJobExecution(_ execution: JobExecution) async throws -> JobExecution

    /// The execution with that id, or nil.
    func jobExecution(id: Int64) async throws -> JobExecution?

    /// The status and version of an execution, read as cheaply as the store allows (the stop check at every
    /// chunk boundary), or nil when it does not exist.
    func jobExecutionStatus(id: Int64) async throws -> ExecutionStatusSnapshot?

    /// The instance with that id, or nil.
    func jobInstance(id: Int64) async throws -> JobInstance?

    /// The most recently created instance of a job, or nil.
    func lastJobInstance(jobName: String) async throws -> JobInstance?

    /// The most recent execution of an instance, or nil.
    func lastJobExecution(instanceId: Int64) async throws -> JobExecution?

    /// Executions newest first, of one job or of all jobs.
    /// - Parameters:
    ///   - jobName: only this job's executions, or nil for all.
    ///   - limit: at most this many.
    func jobExecutions(jobName: String?, limit: Int) async throws -> [JobExecution]

    /// Stores a new step execution; the returned record has its id and version 0.
    func createStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution

    /// Stores changes to a step execution, with the same optimistic-version rule as job executions.
    func updateStepExecution(_ stepExecution: StepExecution) async throws -> StepExecution

    /// The step executions of a job execution, in the order they were created.
    func stepExecutions(jobExecutionId: Int64) async throws -> [StepExecution]

    /// The most recent execution of the step named `stepName` in any execution of an instance, or nil.
    func lastStepExecution(instanceId: Int64, stepName: String) async throws -> StepExecution?

    /// Everything the start of a step does in the store, at once: stores a change to the job execution (STARTED, or
    /// the job context), reads the job execution's status (a stop), reads the step's last execution in the instance
    /// and creates the new step execution — unless the job is no longer running or the step completed earlier and
    /// does not run again. A store may do it in one round trip; the default composes the single operations. See
    /// ``StepStart``.
    /// - Throws: what ``updateJobExecution(_:)`` throws for the change (then nothing was stored), or
    ///   ``BatchError/Code/executionNotFound``.
    func startStep(_ start: StepStart) async throws -> StepStartResult

    /// Stores a step execution's outcome and then a change to its job execution (its context, or its own outcome when
    /// the step ends the job), at once. A store may do it in one round trip; the default composes the single
    /// operations.
    /// - Returns: the stored step execution, and the stored job execution — nil when the job execution could not be
    ///   stored (its version moved on, or the store failed): the caller then stores it its own way.
    /// - Throws: what ``updateStepExecution(_:)`` throws (then nothing was stored).
    func endStep(_ stepExecution: StepExecution, jobExecution: JobExecution) async throws -> StepEndResult

    /// The step execution with that id, or nil.
    func stepExecution(id: Int64) async throws -> StepExecution?

    // MARK: Remote partitions

    /// Stores new step executions (the partitions of a remote partition step, each with its initial context) in one
    /// transaction: all of them or none. They belong to running job executions.
    /// - Returns: the stored step executions, in the order given, with their ids and version 0.
    /// - Throws: ``BatchError/Code/executionNotFound`` when a job execution does not exist (nothing is stored).
    func createStepExecutions(_ stepExecutions: [StepExecution]) async throws -> [StepExecution]

    /// A worker takes a remote partition, atomically: a STARTING partition of a running (STARTING or STARTED) job
    /// execution becomes STARTED with `workerId` and its attempt one higher. A STARTING partition of a job execution
    /// that no longer runs ends STOPPED instead. Anything else (already taken, already ended) is left as it is.
    /// - Returns: what happened.
    func claimPartition(stepExecutionId: Int64, workerId: String) async throws -> PartitionClaim

    /// The lease sweep of one job execution's remote partitions: each STARTED or STOPPING partition whose worker has
    /// no heartbeat within its own lease, where the repository records one (else `lease`), or no worker record at
    /// all, is sent again — back to STARTING without a worker,
    /// its context (the last committed chunk) kept — unless it already had `maxAttempts` attempts: then it ends
    /// FAILED, naming the lost worker. While the job execution is STOPPING, a lost worker's partition is not sent
    /// again: it ends STOPPED (it would have stopped at its next chunk), so the manager's wait ends. Nothing is done
    /// once the job execution has ended.
    /// - Returns: the partitions now STARTING again (to publish anew), those that ended FAILED and those that ended
    ///   STOPPED.
    func reclaimLostPartitions(
        jobExecutionId: Int64, lease: Duration, maxAttempts: Int
    ) async throws -> PartitionReclaim

    /// A worker that stopped a remote partition for its own shutdown hands it back, while its job runs: the partition
    /// becomes STARTING again without a worker, its end and exit cleared, its counters and context (the last
    /// committed chunk) kept, and the attempt it used given back — a graceful hand-back is no failure, so only lost
    /// workers count toward the attempt limit.
    /// - Returns: the stored step execution.
    /// - Throws: ``BatchError`` with ``BatchError/Code/optimisticLock`` when it changed meanwhile, or
    ///   ``BatchError/Code/executionNotFound``.
    func handBackPartition(_ stepExecution: StepExecution) async throws -> StepExecution

    /// Begins the transaction of one chunk. The chunk's writer writes inside it; then
    /// ``ChunkTransaction/commit(_:)`` stores the step execution (counters, context) in the same transaction.
    func beginChunk() async throws -> any ChunkTransaction
}

/// The transaction of one chunk: the writer's writes, the step execution's counters and its execution context
/// commit together or not at all.
///
/// A store-specific writer finds its store's handle by casting (the PostgreSQL writer casts to the PostgreSQL
/// transaction to write on its connection). Exactly one of ``commit(_:)`` and ``rollback()`` is called.
public protocol ChunkTransaction: AnyObject, Sendable {
    /// Stores the step execution (optimistic version checked) and commits everything written in the transaction.
    /// - Returns: the stored step execution with its new version.
    /// - Throws: when anything fails; the transaction is then rolled back.
    func commit(_ stepExecution: StepExecution) async throws -> StepExecution

    /// Discards everything written in the transaction.
    func rollback() async

    /// Marks a point to roll back to without losing the rest of the transaction (a SQL `SAVEPOINT`): a
    /// fault-tolerant chunk step writes each item of a failed chunk after one, to find and skip the bad item.
    /// Stores without nested transactions do nothing (the in-memory repository).
    func savepoint() async throws

    /// Discards what was written since the last ``savepoint()``, keeping the transaction usable.
    func rollbackToSavepoint() async throws

    /// Forgets the last ``savepoint()``, keeping what was written since.
    func releaseSavepoint() async throws

    /// The job execution's status and version as read by ``commit(_:)`` in the same round trip, or nil when the
    /// store does not read it there. A chunk step then needs no separate status query at the chunk boundary.
    var jobStatusAtCommit: ExecutionStatusSnapshot? { get }

    /// Waits until the store has carried out everything written in the transaction so far, and throws the error of
    /// a write that failed (a PostgreSQL writer's pipelined inserts are otherwise awaited only by the commit).
    ///
    /// A step reading ahead calls it after writing a chunk, before that chunk's commit runs beside the next chunk's
    /// write: the next chunk's rows must never wait on a lock that an earlier chunk's unfinished write is about to
    /// take, or neither transaction would move.
    func completeWrites() async throws
}

extension ChunkTransaction {
    /// Does nothing: no nested transactions.
    public func savepoint() async throws {}
    /// Does nothing: no nested transactions.
    public func rollbackToSavepoint() async throws {}
    /// Does nothing: no nested transactions.
    public func releaseSavepoint() async throws {}
    /// Nil: the status is not read at commit.
    public var jobStatusAtCommit: ExecutionStatusSnapshot? { nil }
    /// Does nothing: the writes were carried out as they were made.
    public func completeWrites() async throws {}
}

/// The status and version of a job execution at one moment.
public struct ExecutionStatusSnapshot: Sendable, Hashable {
    /// The status.
    public var status: BatchStatus
    /// The version.
    public var version: Int

    /// Creates a snapshot.
    public init(status: BatchStatus, version: Int) {
        self.status = status
        self.version = version
    }
}

/// What ``JobRepository/claimPartition(stepExecutionId:workerId:)`` did.
public enum PartitionClaim: Sendable, Hashable {
    /// The worker took the partition: it is STARTED with the worker and the new attempt.
    case claimed(StepExecution)
    /// The job execution no longer runs: the partition (if it was still waiting) ended STOPPED.
    case jobNotRunning(StepExecution)
    /// The partition is not waiting for a worker (already taken, or ended): nothing changed.
    case notWaiting(StepExecution)
    /// No step execution has that id.
    case notFound
}

/// What ``JobRepository/reclaimLostPartitions(jobExecutionId:lease:maxAttempts:)`` did.
public struct PartitionReclaim: Sendable, Hashable {
    /// The partitions sent back to STARTING, to publish again.
    public var resent: [StepExecution]
    /// The partitions past their attempt limit, now FAILED.
    public var failed: [StepExecution]
    /// The partitions of a STOPPING job execution whose worker was lost, now STOPPED.
    public var stopped: [StepExecution]

    /// Creates a result.
    public init(resent: [StepExecution] = [], failed: [StepExecution] = [], stopped: [StepExecution] = []) {
        self.resent = resent
        self.failed = failed
        self.stopped = stopped
    }
}

extension JobRepository {
    /// Checks that `execution` is its instance's last, then updates it: not atomic with launches (see
    /// ``JobRepository/abandonJobExecution(_:)``).
    public func abandonJobExecution(_ execution: JobExecution) async throws -> JobExecution {
        if let last = try await lastJobExecution(instanceId: execution.instanceId), last.id != execution.id {
            throw BatchError.notTheLastExecution(execution.id, last: last.id)
        }
        return try await updateJobExecution(execution)
    }

    /// Creates an execution by the start rules (``createJobExecution(jobName:jobKey:parameters:workerId:newInstanceOnly:)``
    /// without `newInstanceOnly`).
    public func createJobExecution(
        jobName: String, jobKey: String, parameters: JobParameters, workerId: String?
    ) async throws -> JobExecution {
        try await createJobExecution(
            jobName: jobName, jobKey: jobKey, parameters: parameters, workerId: workerId, newInstanceOnly: false)
    }
}
