import Batch
import BatchRabbitMQ
import Foundation
import Synchronization

/// A subscription to job execution events that stamps each event as it arrives, for waiters that poll: the
/// instants measured are the arrival instants, however late a waiter looks.
final class EventRecorder: Sendable {
    struct Key: Hashable {
        var executionId: Int64
        var status: BatchStatus
    }

    private struct State {
        var arrivals: [Key: ContinuousClock.Instant] = [:]
        /// Arrival instants per status, in order.
        var byStatus: [BatchStatus: [ContinuousClock.Instant]] = [:]
        var exitMessages: [Int64: String] = [:]
    }

    /// The state, shared with the reading task.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let consumer: AMQPConsumer
    private let shared = Shared()
    private let reader: Task<Void, Never>

    /// Subscribes to `bindingKeys` (topic patterns such as `job.hello.COMPLETED`) through an exclusive,
    /// auto-delete queue of its own, and starts reading.
    init(messaging: BatchMessaging, bindingKeys: [String]) async throws {
        let queue = "\(messaging.topology.prefix).bench-events.\(UUID().uuidString.prefix(8).lowercased())"
        try await messaging.connection.declare(
            [.queue(queue, durable: false, exclusive: true, autoDelete: true)]
                + bindingKeys.map { .bind(queue, to: messaging.topology.eventsExchange, routingKey: $0) })
        let consumer = try await messaging.connection.consume(queue: queue, prefetch: 500)
        self.consumer = consumer
        let shared = shared
        reader = Task {
            do {
                for try await delivery in consumer {
                    let now = ContinuousClock.now
                    try? delivery.ack()
                    guard let event = try? Event(decoding: delivery.body) else { continue }
                    shared.state.withLock { state in
                        let key = Key(executionId: event.executionId, status: event.status)
                        if state.arrivals[key] == nil { state.arrivals[key] = now }
                        state.byStatus[event.status, default: []].append(now)
                        if let message = event.exitMessage { state.exitMessages[event.executionId] = message }
                    }
                }
            } catch {}
        }
    }

    /// How many events of `status` arrived.
    func count(_ status: BatchStatus) -> Int { shared.state.withLock { $0.byStatus[status]?.count ?? 0 } }

    /// When the `n`-th event of `status` arrived (1-based), if it did.
    func arrival(ofNumber n: Int, _ status: BatchStatus) -> ContinuousClock.Instant? {
        shared.state.withLock { state in
            guard let instants = state.byStatus[status], instants.count >= n else { return nil }
            return instants[n - 1]
        }
    }

    /// When `executionId` reached `status`, if it did.
    func arrival(_ executionId: Int64, _ status: BatchStatus) -> ContinuousClock.Instant? {
        shared.state.withLock { $0.arrivals[Key(executionId: executionId, status: status)] }
    }

    /// The last exit message an event carried for `executionId`.
    func exitMessage(_ executionId: Int64) -> String? { shared.state.withLock { $0.exitMessages[executionId] } }

    /// Exit messages of the executions that reached one of `statuses`.
    func exitMessages(of statuses: Set<BatchStatus>) -> [String] {
        shared.state.withLock { state in
            state.arrivals.keys.filter { statuses.contains($0.status) }.map {
                "execution \($0.executionId) \($0.status.rawValue): \(state.exitMessages[$0.executionId] ?? "-")"
            }
        }
    }

    /// Waits (polling) for `executionId` to reach `status`; returns the arrival instant.
    ///
    /// - Throws: ``Disrupted`` when it reached one of `failures` instead, or not `status` within `timeout`.
    func wait(
        for executionId: Int64, _ status: BatchStatus, timeout: Duration, unless failures: Set<BatchStatus> = [.failed]
    ) async throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let instant = arrival(executionId, status) { return instant }
            for failure in failures where arrival(executionId, failure) != nil {
                throw Disrupted(
                    "execution \(executionId) reached \(failure.rawValue) while waiting for \(status.rawValue): "
                        + (exitMessage(executionId) ?? "no exit message"))
            }
            guard ContinuousClock.now < deadline else {
                throw Disrupted("execution \(executionId) did not reach \(status.rawValue) within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Waits (polling) for the `n`-th event of `status`; returns its arrival instant.
    ///
    /// - Throws: ``Disrupted`` as soon as an event of `failures` arrives, or when no event of `status` arrived for
    ///   `stall`.
    func wait(
        forNumber n: Int, _ status: BatchStatus, stall: Duration, failures: Set<BatchStatus>
    ) async throws -> ContinuousClock.Instant {
        var seen = 0
        var progressed = ContinuousClock.now
        while true {
            if let instant = arrival(ofNumber: n, status) { return instant }
            let failed = exitMessages(of: failures)
            if !failed.isEmpty {
                throw Disrupted(
                    "\(failed.count) execution(s) did not complete: \(failed.prefix(3).joined(separator: "; "))")
            }
            let count = count(status)
            if count != seen {
                seen = count
                progressed = .now
            } else if progressed.duration(to: .now) > stall {
                throw Disrupted("stalled at \(count) of \(n) \(status.rawValue) events for \(stall)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Ends the subscription (its queue is deleted by the broker).
    func close() async {
        try? await consumer.cancel()
        reader.cancel()
        _ = await reader.value
    }
}

/// Something kept a measurement from completing (an execution failed, or an event never came): the measurement is
/// repeated on fresh workers, and the reason reported.
struct Disrupted: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
