/// The rules that decide whether an instance may get a new execution, given its last one: refused while it is
/// STARTING, STARTED or STOPPING (already running) or UNKNOWN (ended abnormally: abandon it first), and after
/// COMPLETED (already complete) or ABANDONED; allowed after STOPPED or FAILED (a restart).
public enum StartRules {
    /// Throws the error that refuses a new execution after `last`, or returns when one may be created
    /// (`last` is STOPPED or FAILED).
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/alreadyRunning``, ``BatchError/Code/endedAbnormally``,
    ///   ``BatchError/Code/alreadyComplete`` or ``BatchError/Code/abandoned``.
    public static func check(_ last: JobExecution) throws {
        try check(lastStatus: last.status, executionId: last.id, jobName: last.jobName)
    }

    /// Throws the error that refuses a new execution after the execution `executionId` of job `jobName` ended with
    /// (or is in) `lastStatus`, or returns when one may be created: ``check(_:)`` for a store that reads only the
    /// last execution's id and status.
    ///
    /// - Parameters:
    ///   - newInstanceOnly: the start asked for a new instance only (a scheduled slot's start): any last execution
    ///     refuses it, with ``BatchError/Code/instanceExists``.
    ///   - partitionsRunning: remote partitions of the last execution still run on workers (its manager was lost,
    ///     say): a STOPPED or FAILED one refuses a new execution too, with ``BatchError/Code/alreadyRunning``, since it
    ///     would run their items beside them until they stop at their next chunk.
    public static func check(
        lastStatus: BatchStatus, executionId: Int64, jobName: String, newInstanceOnly: Bool = false,
        partitionsRunning: Bool = false
    ) throws {
        let last = (id: executionId, jobName: jobName, status: lastStatus)
        if newInstanceOnly {
            throw BatchError(
                .instanceExists,
                "job '\(jobName)' already ran this instance (execution \(executionId), \(lastStatus.rawValue)) and this "
                    + "start asked for a new instance only: a scheduled slot fires once; use restart to run it again")
        }
        switch last.status {
        case .starting, .started, .stopping:
            throw BatchError(
                .alreadyRunning,
                "job '\(last.jobName)' is already running this instance (execution \(last.id) is \(last.status.rawValue)); "
                    + "wait for it or stop it first")
        case .unknown:
            throw BatchError(
                .endedAbnormally,
                "execution \(last.id) of job '\(last.jobName)' ended abnormally (UNKNOWN); "
                    + "check what it did, then abandon it before running the instance again")
        case .completed:
            throw BatchError(
                .alreadyComplete,
                "job '\(last.jobName)' already completed this instance (execution \(last.id)); "
                    + "a new run needs new identifying parameters")
        case .abandoned:
            throw BatchError(
                .abandoned,
                "job '\(last.jobName)' instance was abandoned (execution \(last.id)); it is never run again — "
                    + "use new identifying parameters")
        case .stopped, .failed:
            guard partitionsRunning else { return }
            throw BatchError(
                .alreadyRunning,
                "remote partitions of execution \(executionId) of job '\(jobName)' still run on workers; they stop at "
                    + "their next chunk (or are swept once their worker's lease expires): try again then")
        }
    }
}
