/// A reader that knows how far it has come through a input of known size (a file, by bytes): the engine adds an
/// estimated end to the progress it reports for the step.
public protocol ProgressReportingReader {
    /// How much is done and the total, in the reader's own unit (bytes for files); nil when it does not know.
    var progress: (done: Int64, total: Int64)? { get }
}

/// Learns of running chunk steps' progress (``StepProgress``), at most once a second per step execution.
///
/// Called on the step's task, between two chunks: return at once (queue the work). The worker publishes each as
/// a `progress.<job>` event on `batch.events`.
public protocol StepProgressObserver: Sendable {
    /// A running step's progress.
    func stepProgressed(_ progress: StepProgress)
}
