import Logging
import Synchronization
import Testing

@testable import Batch

@Suite("Storage retry")
struct StorageRetryTests {
    struct Unreachable: Error {}

    @Test("a cancelled task still waits between attempts (a store that is out for a moment gets its moment)")
    func aCancelledTaskStillBacksOff() async throws {
        let attempts = Atomic(0)
        let start = ContinuousClock.now
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            _ = try? await StorageRetry.retrying("store", deadline: .seconds(1), logger: Logger(label: "test")) {
                attempts.add(1, ordering: .relaxed)
                throw Unreachable()
            }
        }
        await task.value
        // Waits of 100, 200 and 400 ms fit in the 1 s deadline: at most four attempts, with at least
        // 100 × (2^(n−1) − 1) ms of waiting between n of them (fewer when a busy machine stretches the sleeps).
        let count = attempts.load(ordering: .relaxed)
        #expect((2...4).contains(count), "\(count) attempts")
        #expect(ContinuousClock.now - start >= .milliseconds(100 * ((1 << (count - 1)) - 1)))
    }
}
