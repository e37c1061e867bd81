/// Polls `condition` every `interval` until it holds, for at most `timeout`, and asks once more at the deadline.
///
/// The default deadline is generous (30 s): a condition that holds usually does within milliseconds, and the deadline
/// only bounds a failure — while the whole suite starts at once on a small machine, a test process can stall for
/// several seconds (a fresh-clone CI run saw in-memory worker tests miss a 5 s deadline that way).
/// - Returns: whether the condition held before the deadline (for `#expect(try await eventually { … })`).
public func eventually(
    timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Polls `condition` every `interval` until it holds, for at most `timeout`.
/// - Throws: ``PollTimeout`` naming `what` when the condition still does not hold at the deadline.
public func eventually(
    _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async throws {
    guard try await eventually(timeout: timeout, every: interval, condition) else {
        throw PollTimeout(what: what, timeout: timeout)
    }
}

/// A condition a test waited for did not hold before its deadline.
public struct PollTimeout: Error, CustomStringConvertible {
    /// What the test waited for.
    public var what: String
    /// How long it waited.
    public var timeout: Duration

    /// Creates the error.
    public init(what: String, timeout: Duration) {
        self.what = what
        self.timeout = timeout
    }

    /// "not met within …: what".
    public var description: String { "condition not met within \(timeout): \(what)" }
}
