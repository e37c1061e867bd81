import Foundation
import Synchronization

/// Whether a stop was requested for one job execution: set at once by a local stop (or a worker's control
/// message), and otherwise learned from the repository at chunk boundaries.
final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)

    /// Marks the stop as requested.
    func request() { requested.store(true, ordering: .relaxed) }

    /// Whether a stop was requested, without asking the repository.
    var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// Whether a stop was requested, asking the repository when the local flag is not set. An execution that is no
    /// longer STARTING or STARTED (stopping, or marked failed or abandoned by someone else) counts as a stop.
    func check(executionId: Int64, repository: any JobRepository) async throws -> Bool {
        if isRequested { return true }
        guard let snapshot = try await repository.jobExecutionStatus(id: executionId) else { return false }
        return observe(snapshot)
    }

    /// Takes note of the execution's status read elsewhere (at a chunk commit).
    /// - Returns: whether a stop was requested.
    @discardableResult
    func observe(_ snapshot: ExecutionStatusSnapshot) -> Bool {
        if snapshot.status != .starting && snapshot.status != .started { request() }
        return isRequested
    }
}
