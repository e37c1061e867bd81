import Batch
import Foundation
import Logging
import Synchronization

/// A one-shot gate: tasks wait until it opens.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A thread-safe list of what happened, in order.
final class Recorder<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    func append(_ element: Element) { storage.withLock { $0.append(element) } }
    func append(contentsOf elements: [Element]) { storage.withLock { $0.append(contentsOf: elements) } }
    var all: [Element] { storage.withLock { $0 } }
    func removeAll() { storage.withLock { $0.removeAll() } }
}

/// Polls until `condition` holds, for at most `timeout`.
func eventually(
    timeout: Duration = .seconds(5), _ condition: () async throws -> Bool
) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// An error steps throw on purpose.
struct Boom: Error, CustomStringConvertible {
    var description: String = "boom"
}

/// Whether a failed tasklet should fail: fails on the first execution of an instance only.
final class FailOnce: Sendable {
    private let failed = Mutex<Set<String>>([])
    func shouldFail(_ key: String) -> Bool { failed.withLock { $0.insert(key).inserted } }
}

/// A logger that drops everything: the engine logs every failure the tests provoke on purpose.
let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

func makeOperator(_ jobs: Job...) throws -> JobOperator {
    JobOperator(registry: try JobRegistry(jobs), repository: InMemoryJobRepository(), logger: quietLogger)
}
