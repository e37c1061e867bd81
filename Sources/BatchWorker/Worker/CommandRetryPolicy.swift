import Batch
import BatchRabbitMQ

/// How a worker settles a command that did not succeed: refused by the rules (answered and dropped), impossible
/// (dead-lettered at once with its reason), or met a passing failure (tried again later, a bounded number of times).
///
/// The decision is a pure function of the error and the command's count of earlier attempts (carried in its
/// headers, see ``CommandAttempts``), so it is the same on every worker and tested without servers. Only passing
/// failures — a lost or refused connection, a server shutting down, a concurrent update — are retried; a value the
/// database refuses, bad parameters or an unknown job fail the same way every time. An error nobody classified is
/// retried too, but never more than ``maximumAttempts`` times: no command can loop.
///
/// The broker's own redeliveries are not counted: its `redelivered` flag cannot tell a worker lost while holding a
/// command from a full worker handing back what it had not started (which happens all the time under load), so
/// counting it would dead-letter good commands. What a message can reach never traps the process instead.
public struct CommandRetryPolicy: Sendable, Hashable {
    /// What to do with a command.
    public enum Decision: Sendable, Hashable {
        /// The rules refuse it now (already running, not restartable, ...): ack it and answer with the reason.
        case refuse(String)
        /// It can never succeed: dead-letter it with the reason and answer.
        case deadLetter(String)
        /// Try it again after the delay, carrying the new count.
        case retry(CommandAttempts, after: Duration)
    }

    /// The most attempts that may fail with a passing error before the command is dead-lettered. Default 5.
    public var maximumAttempts: Int
    /// The wait before the second attempt; each later wait is four times longer. Default 1 s.
    public var initialDelay: Duration
    /// The longest wait between attempts. Default 60 s.
    public var maximumDelay: Duration

    /// Creates a policy.
    public init(
        maximumAttempts: Int = 5, initialDelay: Duration = .seconds(1),
        maximumDelay: Duration = .seconds(60)
    ) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialDelay = max(.milliseconds(1), initialDelay)
        self.maximumDelay = max(self.initialDelay, maximumDelay)
    }

    /// Codes of commands that fail the same way however often they are tried.
    static let impossible: Set<BatchError.Code> = [.jobNotFound, .invalidParameters, .invalidJSON]

    /// Codes of commands the rules refuse now: answered and dropped.
    static let refusals: Set<BatchError.Code> = [
        .alreadyRunning, .alreadyComplete, .abandoned, .endedAbnormally, .notRestartable, .notRunning,
        .executionNotFound, .cannotAbandon, .instanceExists,
    ]

    /// Codes that look permanent but come from a race another try settles (a concurrent update of the same row).
    static let races: Set<BatchError.Code> = [.optimisticLock]

    /// Decides what to do with a command whose handling threw `error`.
    ///
    /// - Parameters:
    ///   - error: what the handling threw.
    ///   - previous: the command's count before this attempt.
    public func decide(_ error: any Error, previous: CommandAttempts) -> Decision {
        let reason = error.batchDescription
        if let error = error as? BatchError {
            if Self.refusals.contains(error.code) { return .refuse(reason) }
            if Self.impossible.contains(error.code) { return .deadLetter(reason) }
        }
        let retryable = error.isTransient || (error as? BatchError).map { Self.races.contains($0.code) } == true
        guard retryable else { return .deadLetter(reason) }
        let next = previous.next(failedWith: reason)
        guard next.attempts < maximumAttempts else {
            return .deadLetter("gave up after \(next.attempts) attempts; the last failed with: \(reason)")
        }
        return .retry(next, after: delay(afterAttempt: next.attempts))
    }

    /// The wait after attempt `attempt` (1-based): `initialDelay × 4^(attempt−1)`, at most `maximumDelay`.
    public func delay(afterAttempt attempt: Int) -> Duration {
        var delay = initialDelay
        for _ in 1..<max(1, attempt) {
            delay *= 4
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}
