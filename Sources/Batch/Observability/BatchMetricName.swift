/// The names and labels of the metrics swift-batch emits through swift-metrics. Label values are job and step
/// names (and fixed words), never parameters, so the number of series stays bounded.
public enum BatchMetricName {
    /// Counter: job executions that ended, by `job` and final `status` (COMPLETED, FAILED, STOPPED, ...).
    public static let jobExecutions = "batch_job_executions_total"
    /// Counter: items through chunk steps, by `job`, `step` (a partitioned step's own name, for every partition)
    /// and `kind` (``ItemKind``), counted when their chunk commits.
    public static let stepItems = "batch_step_items_total"
    /// Timer (a histogram in Prometheus): the duration of each committed chunk, by `job` and `step`, from its first
    /// read to its commit.
    public static let chunkDuration = "batch_chunk_duration_seconds"
    /// Gauge: the jobs a worker runs now.
    public static let workerRunningJobs = "batch_worker_running_jobs"
    /// Gauge: the most jobs a worker runs at once (its `--concurrency`).
    public static let workerCapacity = "batch_worker_capacity"
    /// Counter: commands a worker handled, by `command` (start, restart, stop, abandon, `partition` for a remote
    /// partition message, or `invalid` for a body that is not a command) and `outcome` (accepted, refused,
    /// dead_lettered, retried).
    public static let commands = "batch_commands_total"

    /// The values of the `kind` label of ``stepItems``.
    public enum ItemKind: String, Sendable, CaseIterable {
        /// Items read (and not skipped while reading).
        case read
        /// Items written.
        case written
        /// Items the processor filtered out (returned nil for).
        case filtered
        /// Items skipped while reading, processing or writing.
        case skipped
    }

    /// The label names.
    public enum Label {
        /// The job's name.
        public static let job = "job"
        /// The step's name (a partitioned step's own, not `step:partition`).
        public static let step = "step"
        /// The item kind (``ItemKind``).
        public static let kind = "kind"
        /// A job execution's final status.
        public static let status = "status"
        /// A command's action.
        public static let command = "command"
        /// What became of a command.
        public static let outcome = "outcome"
    }
}
