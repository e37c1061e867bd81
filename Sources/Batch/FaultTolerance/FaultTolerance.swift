/// Which errors a chunk step skips (the item is left out, counted and recorded) and how many it may skip in one
/// step execution before it fails.
///
/// Whatever the policy says, a stop (``BatchError/Code/stopped``), a cancellation, a reached skip limit and a
/// record changed meanwhile (``BatchError/Code/optimisticLock``) end the step; and a resource's failure rather than
/// an item's — ``BatchError/Code/fileFailure``, ``BatchError/Code/checksumMismatch``,
/// ``BatchError/Code/repositoryFailure`` (which includes a constraint the database checks only at commit) — is
/// never skipped.
public struct SkipPolicy: Sendable {
    /// The most items skipped in one step execution (read, process and write skips together); one more fails
    /// the step with ``BatchError/Code/skipLimitExceeded``.
    public var limit: Int
    /// Whether an error may be skipped.
    public var isSkippable: @Sendable (any Error) -> Bool

    /// Creates a policy.
    /// - Parameters:
    ///   - limit: the most skips per step execution.
    ///   - isSkippable: which errors may be skipped; all by default (but those above).
    public init(limit: Int, when isSkippable: @escaping @Sendable (any Error) -> Bool = { _ in true }) {
        self.limit = limit
        self.isSkippable = isSkippable
    }
}

/// Which errors a chunk step retries (processing an item, writing a chunk), how often, and how long it waits.
///
/// Whatever the policy says, a stop, a cancellation, a reached skip limit and a record changed meanwhile are never
/// retried.
public struct RetryPolicy: Sendable {
    /// The most retries of one operation (so `limit + 1` attempts in all).
    public var limit: Int
    /// Whether an error is worth retrying (a deadlock, a timeout, a connection reset).
    public var isRetryable: @Sendable (any Error) -> Bool
    /// The wait before each retry.
    public var backoff: Backoff

    /// Creates a policy.
    /// - Parameters:
    ///   - limit: the most retries of one operation.
    ///   - isRetryable: which errors to retry.
    ///   - backoff: the wait before each retry.
    public init(
        limit: Int, when isRetryable: @escaping @Sendable (any Error) -> Bool, backoff: Backoff = Backoff()
    ) {
        self.limit = limit
        self.isRetryable = isRetryable
        self.backoff = backoff
    }
}

/// Exponential backoff with jitter: the n-th retry waits `initial × multiplier^(n-1)`, capped at `maximum`, less a
/// random fraction up to `jitter` (so retries of many workers spread out).
public struct Backoff: Sendable, Hashable {
    /// The wait before the first retry.
    public var initial: Duration
    /// The growth per retry.
    public var multiplier: Double
    /// The longest wait.
    public var maximum: Duration
    /// The random fraction taken off each wait, from 0 (none) to 1.
    public var jitter: Double

    /// Creates a backoff; the defaults wait about 100 ms, 200 ms, 400 ms, ... up to 10 s.
    public init(
        initial: Duration = .milliseconds(100), multiplier: Double = 2, maximum: Duration = .seconds(10),
        jitter: Double = 0.5
    ) {
        self.initial = initial
        self.multiplier = multiplier
        self.maximum = maximum
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The wait before retry number `attempt` (from 1).
    public func delay(beforeRetry attempt: Int) -> Duration {
        let exponential = initial * pow(multiplier, Double(max(0, attempt - 1)))
        let capped = min(exponential, maximum)
        return capped * (1 - Double.random(in: 0...jitter))
    }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= base }
        return result
    }
}

/// A chunk step's skip and retry policies and where skipped items go.
@usableFromInline
struct FaultTolerance: Sendable {
    @usableFromInline var skip: SkipPolicy?
    @usableFromInline var retry: RetryPolicy?
    @usableFromInline var recorder: (any SkippedItemRecorder)?
    /// Makes the recorder from the step's context when the step starts (overrides ``recorder``).
    @usableFromInline var makeRecorder: (@Sendable (StepContext) async throws -> any SkippedItemRecorder)?

    @usableFromInline init() {}

    @usableFromInline var isEnabled: Bool { skip != nil || retry != nil }

    @usableFromInline func retryDelay(for error: any Error, attempt: Int) -> Duration? {
        guard let retry, attempt <= retry.limit, !Self.endsTheStep(error), retry.isRetryable(error) else { return nil }
        return retry.backoff.delay(beforeRetry: attempt)
    }

    /// Whether the skip policy skips `error` (never the engine's own errors, nor a resource's).
    @usableFromInline func skips(_ error: any Error) -> Bool {
        guard let skip, !Self.endsTheStep(error), !Self.isNotAnItemError(error) else { return false }
        return skip.isSkippable(error)
    }

    /// Whether `error` may be skipped when `alreadySkipped` items were; throws when the limit is reached.
    @usableFromInline func maySkip(_ error: any Error, alreadySkipped: Int, step: String) throws -> Bool {
        guard let skip, skips(error) else { return false }
        guard alreadySkipped < skip.limit else {
            throw BatchError(
                .skipLimitExceeded,
                "step '\(step)' reached its skip limit (\(skip.limit)); last error: \(error.batchDescription)",
                underlying: error)
        }
        return true
    }

    /// The engine's own errors, which no policy retries or skips: a stop (``BatchError/Code/stopped``, which must
    /// end the step STOPPED, not skip an item and lose it), a cancellation, a reached skip limit, a record changed
    /// meanwhile.
    @usableFromInline static func endsTheStep(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        guard let error = error as? BatchError else { return false }
        return [.stopped, .skipLimitExceeded, .optimisticLock].contains(error.code)
    }

    /// Errors of a resource rather than of an item, which no policy skips (a retry policy may still retry them): a
    /// file that cannot be read or written fails the same way for every item after it, so skipping would count
    /// items that were never read up to the limit; the same goes for a checksum that does not match and for the
    /// job repository.
    @usableFromInline static func isNotAnItemError(_ error: any Error) -> Bool {
        guard let error = error as? BatchError else { return false }
        return [.fileFailure, .checksumMismatch, .repositoryFailure].contains(error.code)
    }
}
