/// Exponential backoff with jitter: `initialDelay × 2^attempt`, capped at `maximumDelay`, each delay moved at random
/// by up to `jitter` of itself. The random source is a parameter, so tests can fix it: one draw per delay, 0 giving
/// the shortest delay and `UInt64.max` (nearly) the longest.
struct Backoff: Sendable, Hashable {
    /// The delay before attempt 0.
    var initialDelay: Duration
    /// The longest delay (before jitter).
    var maximumDelay: Duration
    /// The fraction (clamped to 0...1) by which a delay varies.
    var jitter: Double

    /// The backoff of a reconnect policy.
    init(_ policy: AMQPConfiguration.Reconnect) {
        initialDelay = policy.initialDelay
        maximumDelay = policy.maximumDelay
        jitter = policy.jitter
    }

    /// The delay before attempt number `attempt` (0 for the first).
    func delay(attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        // Doubling step by step, stopping at the cap, cannot overflow whatever the attempt number.
        var capped = min(initialDelay, maximumDelay)
        for _ in 0..<min(max(attempt, 0), 20) where capped < maximumDelay {
            capped = min(capped * 2, maximumDelay)
        }
        let spread = jitter.isNaN ? 0 : max(0, min(1, jitter))
        // One draw, its top 53 bits as a fraction in [0, 1): the factor lies in [1 - spread, 1 + spread).
        let unit = Double(random.next() >> 11) / Double(UInt64(1) << 53)
        return capped * (1 - spread + 2 * spread * unit)
    }
}

/// When a lost connection tries again, and what it declares again once it is back, as a value.
///
/// A loss schedules the first attempt after the backoff's first delay; each failed attempt waits longer; a success
/// starts over. The declarations made with `redeclareOnReconnect` are kept once each, in the order first made (an
/// exchange before the binding that names it), and forgotten when their queue or exchange is deleted.
struct ReconnectPlan {
    /// The delays between attempts.
    let backoff: Backoff
    /// The number of the next attempt since the connection was lost (0 for the first).
    private(set) var attempt = 0
    /// When the next attempt is due.
    private(set) var nextAttempt: ContinuousClock.Instant
    /// What to declare again after a reconnect, in order.
    private(set) var declarations: [AMQPDeclaration] = []

    /// A plan with nothing to replay and no attempt pending.
    init(backoff: Backoff, now: ContinuousClock.Instant = .now) {
        self.backoff = backoff
        self.nextAttempt = now
    }

    /// Whether the next attempt is due at `now`.
    func isDue(at now: ContinuousClock.Instant) -> Bool {
        now >= nextAttempt
    }

    /// The connection was lost: the first attempt comes after the first delay, which is returned.
    @discardableResult
    mutating func connectionLost(
        now: ContinuousClock.Instant, using random: inout some RandomNumberGenerator
    )
        -> Duration
    {
        attempt = 0
        let delay = backoff.delay(attempt: 0, using: &random)
        nextAttempt = now + delay
        return delay
    }

    /// An attempt failed: the next one waits longer; returns how long.
    @discardableResult
    mutating func attemptFailed(
        now: ContinuousClock.Instant, using random: inout some RandomNumberGenerator
    )
        -> Duration
    {
        attempt += 1
        let delay = backoff.delay(attempt: attempt, using: &random)
        nextAttempt = now + delay
        return delay
    }

    /// An attempt succeeded: the next loss starts from the first delay again.
    mutating func succeeded() {
        attempt = 0
    }

    /// Remembers declarations to replay, each once, after those remembered before.
    mutating func remember(_ new: [AMQPDeclaration]) {
        for declaration in new where !declarations.contains(declaration) {
            declarations.append(declaration)
        }
    }

    /// Forgets the declarations of a deleted queue (and its bindings).
    mutating func forget(queue: String) {
        declarations.removeAll { $0.mentions(queue: queue) }
    }

    /// Forgets the declarations of a deleted exchange (and its bindings).
    mutating func forget(exchange: String) {
        declarations.removeAll { $0.mentions(exchange: exchange) }
    }
}

extension AMQPDeclaration {
    func mentions(queue name: String) -> Bool {
        switch self {
        case .queue(let queue, _, _, _, _), .binding(let queue, _, _, _): queue == name
        case .exchange: false
        }
    }

    func mentions(exchange name: String) -> Bool {
        switch self {
        case .exchange(let exchange, _, _, _, _), .binding(_, let exchange, _, _): exchange == name
        case .queue: false
        }
    }
}
