/// The state of a job or step execution: the seed's seven statuses, plus `abandoned` from Spring Batch.
///
/// Statuses combine "worst wins" in this order:
/// `completed < starting < started < stopping < stopped < failed < abandoned < unknown`.
/// The raw value is the name stored in the database and sent in events (`"COMPLETED"`, ...).
public enum BatchStatus: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// The job or step is starting.
    case starting = "STARTING"
    /// The job or step has started and is running.
    case started = "STARTED"
    /// The job or step has received a stop command.
    case stopping = "STOPPING"
    /// The job or step has stopped running; it can be restarted.
    case stopped = "STOPPED"
    /// The job or step completed successfully.
    case completed = "COMPLETED"
    /// The job or step failed; it can be restarted.
    case failed = "FAILED"
    /// An operator gave the execution up; its instance is never restarted.
    case abandoned = "ABANDONED"
    /// The truth could not be recorded (for example the final write failed). Abandon it to go on.
    case unknown = "UNKNOWN"

    /// The rank used to combine statuses: higher is worse.
    public var severity: Int {
        switch self {
        case .completed: 0
        case .starting: 1
        case .started: 2
        case .stopping: 3
        case .stopped: 4
        case .failed: 5
        case .abandoned: 6
        case .unknown: 7
        }
    }

    /// Orders statuses by ``severity``.
    public static func < (lhs: BatchStatus, rhs: BatchStatus) -> Bool { lhs.severity < rhs.severity }

    /// The worse of two statuses.
    public func combined(with other: BatchStatus) -> BatchStatus { max(self, other) }

    /// `starting`, `started` or `stopping`: an execution in one of these is running (or believed to be).
    public var isRunning: Bool { self == .starting || self == .started || self == .stopping }

    /// `stopped` or `failed`: the statuses an execution may be restarted from.
    public var isRestartable: Bool { self == .stopped || self == .failed }

    /// Any status but the running ones: nothing more will happen to the execution by itself.
    public var isFinished: Bool { !isRunning }
}

extension Sequence where Element == BatchStatus {
    /// The worst status of the sequence, or `completed` when it is empty.
    public func combined() -> BatchStatus { reduce(.completed) { $0.combined(with: $1) } }
}
