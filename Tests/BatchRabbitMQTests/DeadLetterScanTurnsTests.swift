import BatchTestKit
import Testing

@testable import BatchRabbitMQ

@Suite("Dead-letter scans take turns")
struct DeadLetterScanTurnsTests {
    @Test("one scan at a time, in arrival order; past the waiting bound a scan is refused at once")
    func turnsAndBound() async throws {
        let turns = DeadLetterScanTurns()
        let gate = Gate()
        let order = Recorder<Int>()
        let running = Locked(0)
        let most = Locked(0)
        let first = Task {
            try await turns.run {
                running.withLock { $0 += 1 }
                await gate.wait()
                order.append(0)
                running.withLock { $0 -= 1 }
            }
        }
        try await eventually("the first scan runs") { running.value == 1 }
        var waiting: [Task<Void, any Error>] = []
        for index in 1...DeadLetterScanTurns.maximumWaiting {
            waiting.append(
                Task {
                    try await turns.run {
                        let now = running.withLock { count in
                            count += 1
                            return count
                        }
                        most.withLock { $0 = max($0, now) }
                        order.append(index)
                        running.withLock { $0 -= 1 }
                    }
                })
            // Each one queued before the next is sent, so the order is theirs.
            try await Task.sleep(for: .milliseconds(20))
        }
        await #expect(throws: AMQPError.self, "the ninth waiter is refused") { try await turns.run {} }
        // A waiter whose task is cancelled leaves the line (and makes room): it never runs.
        waiting[3].cancel()
        await #expect(throws: CancellationError.self) { try await waiting[3].value }
        let late = Task { try await turns.run { order.append(99) } }
        gate.open()
        try await first.value
        for (index, task) in waiting.enumerated() where index != 3 { try await task.value }
        try await late.value
        #expect(
            order.all == [0, 1, 2, 3, 5, 6, 7, 8, 99], "in arrival order, the cancelled one left out: \(order.all)")
        #expect(most.value == 1, "never two at once")
        try await turns.run {}  // free again
    }
}
