import Batch
import Foundation
import Testing

@testable import BatchWorker

/// The event publisher's queue: what queued up while the publisher was busy comes out as one batch, in order.
@Suite struct EventPublisherQueueTests {
    static func execution(_ id: Int64, _ status: BatchStatus) -> JobExecution {
        JobExecution(
            id: id, instanceId: 1, jobName: "j", parameters: JobParameters([:]), status: status, createTime: Date(),
            lastUpdated: Date())
    }

    static func summary(_ batch: [EventPublisher.Change]?) -> [String]? {
        batch?.map { change in
            switch change {
            case .execution(let execution): "\(execution.id) \(execution.status.rawValue)"
            case .progress(let progress): "progress \(progress.executionId)"
            }
        }
    }

    @Test func changesQueuedMeanwhileComeOutTogetherInOrderThenNilOnceFinished() async {
        let queue = EventPublisher.ChangeQueue()
        queue.append(.execution(Self.execution(1, .starting)))
        queue.append(.execution(Self.execution(1, .started)))
        queue.append(.execution(Self.execution(2, .starting)))
        #expect(Self.summary(await queue.next()) == ["1 STARTING", "1 STARTED", "2 STARTING"])
        queue.append(.execution(Self.execution(1, .completed)))
        queue.finish()
        queue.append(.execution(Self.execution(3, .starting)))  // after finish: not taken
        #expect(Self.summary(await queue.next()) == ["1 COMPLETED"])
        #expect(await queue.next() == nil)
    }

    @Test func aWaitingPublisherWakesForTheNextChange() async throws {
        let queue = EventPublisher.ChangeQueue()
        let waiting = Task { await queue.next() }
        try await Task.sleep(for: .milliseconds(50))
        queue.append(.execution(Self.execution(9, .failed)))
        #expect(Self.summary(await waiting.value) == ["9 FAILED"])
    }

    @Test func aCancelledPublisherStopsWaiting() async throws {
        let queue = EventPublisher.ChangeQueue()
        let waiting = Task { await queue.next() }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        #expect(await waiting.value == nil)
    }
}
