/// How often a command has been tried, carried in its own headers so the count survives any worker.
///
/// A command that met a passing failure is republished to ``BatchTopology/commandsRetryQueue`` with
/// `x-batch-attempts` one higher and the failure in `x-batch-last-error`. Past a limit it is dead-lettered with its
/// last error, so no command can loop.
public struct CommandAttempts: Sendable, Hashable {
    /// The header counting the attempts that failed with a passing error.
    public static let attemptsHeader = "x-batch-attempts"
    /// The header holding the last passing error, for the dead-letter reason.
    public static let lastErrorHeader = "x-batch-last-error"

    /// Attempts made so far that failed with a passing error.
    public var attempts: Int
    /// The last passing error, if any.
    public var lastError: String?

    /// Creates a count.
    public init(attempts: Int = 0, lastError: String? = nil) {
        self.attempts = attempts
        self.lastError = lastError
    }

    /// Reads the count from a delivery's headers; absent or malformed headers count as zero.
    public init(_ delivery: AMQPDelivery) {
        self.init(headers: delivery.properties.headers)
    }

    /// Reads the count from message headers; absent or malformed headers count as zero, and a count above
    /// ``maximumCount`` (anyone can publish any header) reads as that.
    public init(headers: [String: AMQPFieldValue]) {
        func count(_ key: String) -> Int {
            guard let value = headers[key]?.intValue, value > 0 else { return 0 }
            return Int(min(value, Int64(Self.maximumCount)))
        }
        self.init(
            attempts: count(Self.attemptsHeader), lastError: headers[Self.lastErrorHeader]?.stringValue)
    }

    /// The highest count a header is read as: far above any retry policy's attempts, and far enough below
    /// `Int.max` that counting one more attempt cannot overflow.
    public static let maximumCount = 1 << 30

    /// The count after one more attempt that failed with `error`.
    public func next(failedWith error: String) -> CommandAttempts {
        CommandAttempts(attempts: min(attempts, Self.maximumCount) + 1, lastError: error)
    }

    /// `headers` with this count written into them.
    public func applied(to headers: [String: AMQPFieldValue]) -> [String: AMQPFieldValue] {
        var headers = headers
        headers[Self.attemptsHeader] = .int(Int64(attempts))
        if let lastError { headers[Self.lastErrorHeader] = .string(lastError.utf8Prefix(1024)) }
        return headers
    }
}
