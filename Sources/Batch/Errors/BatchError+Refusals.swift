/// The refusals the repositories and worker registries report the same way.
extension BatchError {
    /// The refusal to abandon an execution that is not its instance's last: abandoning it would leave the instance
    /// restartable (the start rules look at the last execution).
    public static func notTheLastExecution(_ id: Int64, last: Int64) -> BatchError {
        BatchError(
            .cannotAbandon,
            "execution \(id) is not the last of its instance (execution \(last) is): abandon that one instead")
    }

    /// The refusal to register a worker under an id a live worker holds; its ``underlying`` is a
    /// ``WorkerIdHolder``.
    public static func workerIdInUse(
        _ id: String, host: String, pid: Int, heartbeatAge: Duration, lease: Duration
    ) -> BatchError {
        BatchError(
            .workerIdInUse,
            "worker id '\(id)' is in use by a live worker on host \(host), pid \(pid) (its last heartbeat was "
                + "\(seconds(heartbeatAge)) s ago, its lease \(seconds(lease)) s): give every worker its own "
                + "--worker-id (the default is unique)",
            underlying: WorkerIdHolder(lease: lease))
    }

    /// Whole seconds, or tenths below ten.
    private static func seconds(_ duration: Duration) -> String {
        let value = duration.timeInterval
        return value >= 10 ? "\(Int(value.rounded()))" : "\((value * 10).rounded() / 10)"
    }
}

/// What a ``BatchError/Code/workerIdInUse`` refusal knows of the id's holder: how long its lease is, so a process
/// taking the id over knows how long to wait.
package struct WorkerIdHolder: Error, Sendable {
    package let lease: Duration
}
