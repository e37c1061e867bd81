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
    public static func check(lastStatus: BatchStatus, executionId: Int64, jobName: String) throws {
        let last = (id: executionId, jobName: jobName, status: lastStatus)
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
            return
        }
    }

    /// Throws the error that refuses a new execution of an instance whose last execution, `executionId`, ended
    /// while remote partitions of it still run on workers (its manager was lost, say): they stop at their next
    /// chunk, and a new execution started before would run the same items beside them.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/alreadyRunning``.
    public static func refusePartitionsRunning(executionId: Int64, jobName: String) throws {
        throw BatchError(
            .alreadyRunning,
            "remote partitions of execution \(executionId) of job '\(jobName)' still run on workers; they stop at "
                + "their next chunk (or are swept once their worker's lease expires): try again then")
    }

    /// Throws the error that refuses a start asking for a new instance only (a scheduled slot's start) when the
    /// instance already has an execution, `executionId`: the start was delivered twice.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/instanceExists``.
    public static func refuseExistingInstance(lastStatus: BatchStatus, executionId: Int64, jobName: String) throws {
        throw BatchError(
            .instanceExists,
            "job '\(jobName)' already ran this instance (execution \(executionId), \(lastStatus.rawValue)) and this "
                + "start asked for a new instance only: a scheduled slot fires once; use restart to run it again")
    }
}
