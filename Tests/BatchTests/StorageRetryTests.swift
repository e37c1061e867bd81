import Logging
import Synchronization
import Testing

@testable import Batch

@Suite("Storage retry")
struct StorageRetryTests {
    struct Unreachable: Error {}

    @Test("a cancelled task still waits between attempts: no busy loop until the deadline")
    func aCancelledTaskStillBacksOff() async throws {
        let attempts = Atomic(0)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            _ = try? await StorageRetry.retrying("store", deadline: .seconds(1), logger: Logger(label: "test")) {
                attempts.add(1, ordering: .relaxed)
                throw Unreachable()
            }
        }
        await task.value
        // 100, 200 and 400 ms fit in the deadline: four attempts, not thousands.
        #expect(attempts.load(ordering: .relaxed) <= 5, "\(attempts.load(ordering: .relaxed)) attempts")
    }
}
