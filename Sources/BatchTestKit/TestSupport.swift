import Batch
import Foundation
import Logging
import Synchronization

/// A one-shot gate: tasks wait until it opens.
public final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Creates a closed gate.
    public init() {}

    /// Waits until the gate is open (returns at once if it is).
    public func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Opens the gate and lets every waiter through.
    public func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A thread-safe list of what happened, in order.
public final class Recorder<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])

    /// Creates an empty recorder.
    public init() {}

    /// Records one element.
    public func append(_ element: Element) { storage.withLock { $0.append(element) } }
    /// Records several elements, in order.
    public func append(contentsOf elements: [Element]) { storage.withLock { $0.append(contentsOf: elements) } }
    /// Everything recorded so far.
    public var all: [Element] { storage.withLock { $0 } }
    /// Forgets everything recorded.
    public func removeAll() { storage.withLock { $0.removeAll() } }
}

/// An error tests throw on purpose.
public struct Boom: Error, CustomStringConvertible {
    /// What it says.
    public var description: String

    /// Creates the error.
    public init(description: String = "boom") { self.description = description }
}

/// Whether a step should fail: true the first time a key is asked about, false after (a first execution fails,
/// its restart passes).
public final class FailOnce: Sendable {
    private let failed = Mutex<Set<String>>([])

    /// Creates a fresh record.
    public init() {}

    /// True the first time `key` is asked about.
    public func shouldFail(_ key: String) -> Bool { failed.withLock { $0.insert(key).inserted } }
}

/// A logger that drops everything: the engine logs every failure tests provoke on purpose.
public let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// An operator over an in-memory repository with these jobs and a quiet logger.
public func makeOperator(_ jobs: Job...) throws -> JobOperator {
    JobOperator(registry: try JobRegistry(jobs), repository: InMemoryJobRepository(), logger: quietLogger)
}
