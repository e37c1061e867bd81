import Testing

/// Lets tests share the database server, except a test that restarts it, which runs alone.
///
/// Every test that talks to PostgreSQL holds the gate shared for its duration (``Trait/database``); the restart
/// test holds it exclusively (``Trait/exclusiveDatabase``), so no other test sees its connections cut.
actor DatabaseGate {
    static let shared = DatabaseGate()

    private var readers = 0
    private var writer = false
    private var waiting: [(exclusive: Bool, continuation: CheckedContinuation<Void, Never>)] = []

    func acquire(exclusive: Bool) async {
        if waiting.isEmpty && canEnter(exclusive) {
            enter(exclusive)
            return
        }
        await withCheckedContinuation { waiting.append((exclusive, $0)) }
    }

    func release(exclusive: Bool) {
        if exclusive { writer = false } else { readers -= 1 }
        while let next = waiting.first, canEnter(next.exclusive) {
            waiting.removeFirst()
            enter(next.exclusive)
            next.continuation.resume()
        }
    }

    private func canEnter(_ exclusive: Bool) -> Bool { exclusive ? !writer && readers == 0 : !writer }

    private func enter(_ exclusive: Bool) {
        if exclusive { writer = true } else { readers += 1 }
    }
}

/// Holds the ``DatabaseGate`` around each test case.
struct DatabaseGateTrait: SuiteTrait, TestTrait, TestScoping {
    let exclusive: Bool

    var isRecursive: Bool { true }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Only test cases hold the gate: a suite holding it would block an exclusive test behind its own tests.
        guard testCase != nil else { return try await function() }
        await DatabaseGate.shared.acquire(exclusive: exclusive)
        do {
            try await function()
            await DatabaseGate.shared.release(exclusive: exclusive)
        } catch {
            await DatabaseGate.shared.release(exclusive: exclusive)
            throw error
        }
    }
}

extension Trait where Self == DatabaseGateTrait {
    /// The test uses the database server alongside other tests.
    static var database: Self { DatabaseGateTrait(exclusive: false) }
    /// The test disturbs the database server (restarts it) and runs alone.
    static var exclusiveDatabase: Self { DatabaseGateTrait(exclusive: true) }
}
