import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchWorker
import Testing

/// The worker's decision for a command that did not succeed, case by case, without servers.
@Suite("Command retry policy")
struct CommandRetryPolicyTests {
    let policy = CommandRetryPolicy(maximumAttempts: 5, initialDelay: .seconds(1), maximumDelay: .seconds(60))

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let error: any Error & Sendable
        let expected: Expected
        var testDescription: String { name }

        enum Expected: Sendable { case refuse, deadLetter, retry }
    }

    static let cases: [Case] = [
        Case(name: "already running", error: BatchError(.alreadyRunning, "running"), expected: .refuse),
        Case(name: "already complete", error: BatchError(.alreadyComplete, "done"), expected: .refuse),
        Case(name: "not restartable", error: BatchError(.notRestartable, "no"), expected: .refuse),
        Case(name: "unknown job", error: BatchError(.jobNotFound, "no job"), expected: .deadLetter),
        Case(name: "bad parameters", error: BatchError(.invalidParameters, "bad"), expected: .deadLetter),
        Case(
            name: "a value PostgreSQL refuses (22021)",
            error: BatchError(
                .repositoryFailure, "insert",
                underlying: PostgresError(.server, "invalid byte sequence", sqlState: "22021")),
            expected: .deadLetter),
        Case(
            name: "a NUL PostgreSQL text cannot hold",
            error: BatchError(
                .repositoryFailure, "insert", underlying: PostgresError(.invalidParameter, "NUL in parameter 1")),
            expected: .deadLetter),
        Case(
            name: "a syntax error (42601)",
            error: BatchError(.repositoryFailure, "q", underlying: PostgresError(.server, "syntax", sqlState: "42601")),
            expected: .deadLetter),
        Case(
            name: "a lost connection",
            error: BatchError(.repositoryFailure, "q", underlying: PostgresError(.connectionLost, "server closed")),
            expected: .retry),
        Case(
            name: "server shutting down (57P01)",
            error: BatchError(
                .repositoryFailure, "q", underlying: PostgresError(.server, "terminating", sqlState: "57P01")),
            expected: .retry),
        Case(name: "a concurrent update", error: BatchError(.optimisticLock, "version"), expected: .retry),
        Case(name: "an error nobody classified", error: Unclassified(), expected: .retry),
    ]

    struct Unclassified: Error {}

    @Test("each kind of failure is refused, dead-lettered or retried", arguments: cases)
    func classification(_ testCase: Case) {
        let decision = policy.decide(testCase.error, previous: CommandAttempts())
        switch (decision, testCase.expected) {
        case (.refuse, .refuse), (.deadLetter, .deadLetter):
            break
        case (.retry(let attempts, let delay), .retry):
            #expect(attempts.attempts == 1)
            #expect(delay == .seconds(1))
            #expect(attempts.lastError == testCase.error.batchDescription)
        default:
            Issue.record("\(testCase.name): decided \(decision), expected \(testCase.expected)")
        }
    }

    @Test("a passing failure is retried with a growing delay, then dead-lettered with its last error")
    func boundedRetries() {
        var attempts = CommandAttempts()
        var delays: [Duration] = []
        let error = BatchError(.repositoryFailure, "lost", underlying: PostgresError(.connectionLost, "gone"))
        while true {
            switch policy.decide(error, previous: attempts) {
            case .retry(let next, let delay):
                attempts = next
                delays.append(delay)
                continue
            case .deadLetter(let reason):
                #expect(reason.contains("gave up after 5 attempts"), "\(reason)")
                #expect(reason.contains("lost"), "\(reason)")
            case .refuse(let reason):
                Issue.record("refused: \(reason)")
            }
            break
        }
        #expect(delays == [.seconds(1), .seconds(4), .seconds(16), .seconds(60)])
    }

    @Test("the attempt count travels in the headers and survives a round trip")
    func headersRoundTrip() {
        let count = CommandAttempts(attempts: 3, lastError: "connection refused")
        let headers = count.applied(to: ["other": .string("kept")])
        #expect(CommandAttempts(headers: headers) == count)
        #expect(headers["other"] == .string("kept"))
        #expect(CommandAttempts(headers: ["x-batch-attempts": .string("9")]).attempts == 0, "malformed: zero")
        #expect(CommandAttempts(headers: ["x-batch-attempts": .int(-4)]).attempts == 0, "negative: zero")
    }

    @Test("the last error's header holds at most 1 KiB of UTF-8 in whole characters, however heavy the characters")
    func lastErrorIsBoundedInBytes() {
        let heavy = "e" + String(repeating: "\u{301}", count: 3_000)  // one character, 6,001 bytes
        for (error, kept) in [(String(repeating: "é", count: 1_000), 512), (heavy + "x", 0), ("short", 5)] {
            let headers = CommandAttempts(attempts: 1, lastError: error).applied(to: [:])
            let stored = headers[CommandAttempts.lastErrorHeader]?.stringValue ?? ""
            #expect(stored.utf8.count <= 1024 && stored.count == kept, "\(stored.utf8.count) bytes")
            #expect(error.hasPrefix(stored))
        }
    }

    @Test("a hostile attempt count (Int64.max) is dead-lettered on a passing failure, not counted into an overflow")
    func hugeAttemptCount() {
        let previous = CommandAttempts(headers: ["x-batch-attempts": .int(.max)])
        #expect(previous.attempts == CommandAttempts.maximumCount)
        let error = BatchError(.repositoryFailure, "lost", underlying: PostgresError(.connectionLost, "gone"))
        guard case .deadLetter(let reason) = policy.decide(error, previous: previous) else {
            Issue.record("not dead-lettered")
            return
        }
        #expect(reason.contains("lost"), "\(reason)")
    }
}
