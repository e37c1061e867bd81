/// The one error type of swift-batch: a code to match on, a message that says what happened and what to do,
/// the error underneath (if any) and where it was thrown.
///
/// Match on ``code``, never on the message:
/// ```swift
/// do { try await jobOperator.restart("daily-accounting") }
/// catch let error as BatchError where error.code == .alreadyComplete { ... }
/// ```
public struct BatchError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case jobNotFound, duplicateJob, alreadyRunning, alreadyComplete, abandoned, endedAbnormally
            case notRestartable, notRunning, invalidParameters, invalidJSON, executionNotFound, optimisticLock
            case stopped, stepFailed, listenerFailed, invalidDefinition, repositoryFailure, invalidState
            case cannotAbandon, skipLimitExceeded, malformedRecord, checksumMismatch, fileFailure
            case missingResource, invalidSchedule, instanceExists, scheduleExists, workerIdInUse
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No job of that name is registered.
        public static let jobNotFound = Code(.jobNotFound)
        /// A job of that name is already registered.
        public static let duplicateJob = Code(.duplicateJob)
        /// The job instance has an execution that is starting, running or stopping.
        public static let alreadyRunning = Code(.alreadyRunning)
        /// The job instance completed; a new run needs new identifying parameters.
        public static let alreadyComplete = Code(.alreadyComplete)
        /// The start asked for a new instance only (a scheduled slot's start), and the instance already has an
        /// execution: the start was delivered twice. `restart` runs the instance again.
        public static let instanceExists = Code(.instanceExists)
        /// A schedule of that name exists already.
        public static let scheduleExists = Code(.scheduleExists)
        /// The job instance was abandoned and is never run again.
        public static let abandoned = Code(.abandoned)
        /// The last execution ended in UNKNOWN; an operator must abandon it first.
        public static let endedAbnormally = Code(.endedAbnormally)
        /// The execution is not STOPPED or FAILED, so it cannot be restarted.
        public static let notRestartable = Code(.notRestartable)
        /// There is no running execution to stop.
        public static let notRunning = Code(.notRunning)
        /// The job parameters are malformed, of the wrong type, or refused by the job's validator.
        public static let invalidParameters = Code(.invalidParameters)
        /// Text that should be JSON is not.
        public static let invalidJSON = Code(.invalidJSON)
        /// No execution has that id.
        public static let executionNotFound = Code(.executionNotFound)
        /// A record changed since it was read (its version moved on); the update was not applied.
        public static let optimisticLock = Code(.optimisticLock)
        /// A stop was requested; thrown by ``StepContext/throwIfStopRequested()`` to end a step STOPPED.
        public static let stopped = Code(.stopped)
        /// A step failed; the message names it and the cause.
        public static let stepFailed = Code(.stepFailed)
        /// A listener threw, failing what it wraps.
        public static let listenerFailed = Code(.listenerFailed)
        /// A job or step definition is not valid (for example an empty name or a chunk size below 1).
        public static let invalidDefinition = Code(.invalidDefinition)
        /// The job repository could not read or write.
        public static let repositoryFailure = Code(.repositoryFailure)
        /// A record is in a state the operation does not allow.
        public static let invalidState = Code(.invalidState)
        /// Only a STOPPED, FAILED or UNKNOWN execution, the last of its instance, can be abandoned.
        public static let cannotAbandon = Code(.cannotAbandon)
        /// A chunk step skipped as many items as its skip policy allows, and met one more bad item.
        public static let skipLimitExceeded = Code(.skipLimitExceeded)
        /// A record in an input file is malformed, too long or not in the file's encoding; the message names the
        /// file, the line and the field. A skip policy may skip it: the reader goes on with the next record.
        public static let malformedRecord = Code(.malformedRecord)
        /// A file does not match the checksum file beside it; nothing was read.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// A file could not be opened, read, written, truncated or renamed; the message names it and the reason.
        public static let fileFailure = Code(.fileFailure)
        /// A step asked for an application resource (``ResourceKey``) that neither the job nor the operator
        /// registered, or whose factory failed; the message names the key.
        public static let missingResource = Code(.missingResource)
        /// A schedule is not valid: a cron expression (the message names the field and why), an unknown time zone,
        /// or a parameter template with an unknown placeholder.
        public static let invalidSchedule = Code(.invalidSchedule)
        /// A worker registered with an id a live worker holds (another host or process whose heartbeat is within
        /// its lease): two workers sharing an id would fail each other's executions as orphans.
        public static let workerIdInUse = Code(.workerIdInUse)

        /// The code's name, for logs.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened and what to do, for people.
    public var message: String
    /// The error that caused this one, if any.
    public var underlying: (any Error)?
    /// Where the error was thrown.
    public var location: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: what kind of failure.
    ///   - message: what happened and what to do.
    ///   - underlying: the cause, if any.
    ///   - file: the file it is thrown from (the caller's, by default).
    ///   - line: the line it is thrown from (the caller's, by default).
    public init(
        _ code: Code, _ message: String, underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.location = "\(file):\(line)"
    }

    /// The message, with the code.
    public var description: String { "\(message) [\(code)]" }
}

extension Error {
    /// A one-line description for exit messages and logs: a ``BatchError``'s message, otherwise the error itself.
    public var batchDescription: String {
        if let error = self as? BatchError { return error.message }
        return String(describing: self)
    }
}
