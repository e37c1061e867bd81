import CoreMetrics
import Synchronization

/// The jobs a worker runs, against its concurrency: lets the command loop wait for a free slot.
final class WorkerCapacity: Sendable {
    private struct State {
        var running: Set<Int64> = []
        /// Executions whose manager waits for its remote partitions: running, but holding no slot.
        var suspended: Set<Int64> = []
        /// Executions whose manager began waiting before ``add(_:)`` counted them (a job reaches its remote step
        /// while the start is still being settled): counted as suspended when added.
        var suspendedEarly: Set<Int64> = []
        /// Executions of this worker that ended before ``add(_:)`` counted them (a very short job).
        var endedEarly: Set<Int64> = []
        /// Who waits for a free slot: each waits on its flag, set when a slot frees.
        var waiters: [ShutdownFlag] = []
        /// Slots held for starts being launched (not yet counted as running, or refused).
        var reserved = 0

        /// The slots in use: running executions and reservations.
        var taken: Int { running.count + reserved }

        /// Hands every waiter over, to be woken outside the lock.
        mutating func takeWaiters() -> [ShutdownFlag] {
            defer { waiters = [] }
            return waiters
        }
    }

    private static func wake(_ waiters: [ShutdownFlag]) {
        for waiter in waiters { waiter.request() }
    }

    let limit: Int
    private let state = Mutex(State())
    /// `batch_worker_running_jobs`, set on every change.
    private let runningGauge: (any RecorderHandler)?

    init(limit: Int, runningGauge: (any RecorderHandler)? = nil) {
        self.limit = limit
        self.runningGauge = runningGauge
        runningGauge?.record(Int64(0))
    }

    /// Counts an execution this worker started.
    func add(_ executionId: Int64) {
        let running = state.withLock { state in
            if state.endedEarly.remove(executionId) != nil {
                // ended before it was counted
            } else if state.suspendedEarly.remove(executionId) != nil {
                state.suspended.insert(executionId)
            } else {
                state.running.insert(executionId)
            }
            return state.running.count
        }
        runningGauge?.record(Int64(running))
    }

    /// Frees the slot of an execution of this worker that ended.
    func remove(_ executionId: Int64) {
        let (waiters, running) = state.withLock { state -> ([ShutdownFlag], Int?) in
            if state.suspended.remove(executionId) != nil { return ([], nil) }
            state.suspendedEarly.remove(executionId)
            guard state.running.remove(executionId) != nil else {
                state.endedEarly.insert(executionId)
                return ([], nil)
            }
            guard state.taken < limit else { return ([], state.running.count) }
            return (state.takeWaiters(), state.running.count)
        }
        if let running { runningGauge?.record(Int64(running)) }
        Self.wake(waiters)
    }

    /// Gives up the slot of an execution that goes on running without using it (a manager waiting for its
    /// partitions), waking a waiter.
    func suspend(_ executionId: Int64) {
        let (waiters, running) = state.withLock { state -> ([ShutdownFlag], Int?) in
            guard state.running.remove(executionId) != nil else {
                state.suspendedEarly.insert(executionId)
                return ([], nil)
            }
            state.suspended.insert(executionId)
            guard state.taken < limit else { return ([], state.running.count) }
            return (state.takeWaiters(), state.running.count)
        }
        if let running { runningGauge?.record(Int64(running)) }
        Self.wake(waiters)
    }

    /// Takes the slot of a suspended execution back (it may briefly put the worker over its limit: a manager whose
    /// partitions ended must not wait behind new work).
    func resume(_ executionId: Int64) {
        let running = state.withLock { state -> Int? in
            guard state.suspended.remove(executionId) != nil else {
                state.suspendedEarly.remove(executionId)  // not counted yet: add(_:) counts it as running
                return nil
            }
            state.running.insert(executionId)
            return state.running.count
        }
        if let running { runningGauge?.record(Int64(running)) }
    }

    /// Waits at most `timeout` (without a limit when `nil`) for a free slot.
    /// - Returns: whether a slot is free.
    @discardableResult
    func waitForFreeSlot(atMost timeout: Duration? = nil) async -> Bool {
        let freed = ShutdownFlag()
        let full = state.withLock { state -> Bool in
            guard state.taken >= limit else { return false }
            state.waiters.append(freed)
            return true
        }
        guard full else { return true }
        if let timeout { await freed.wait(atMost: timeout) } else { await freed.wait() }
        return state.withLock { state in
            state.waiters.removeAll { $0 === freed }
            return state.taken < limit
        }
    }

    /// Holds a free slot, if there is one, for work being taken (a start or restart being launched, a partition being
    /// claimed) until ``unreserve()``: the command and partition loops each take a delivery once they saw a free
    /// slot, and both may have seen the same one.
    /// - Returns: whether a slot was free (and is now held).
    func tryReserve() -> Bool {
        state.withLock { state in
            guard state.taken < limit else { return false }
            state.reserved += 1
            return true
        }
    }

    /// Gives back a slot ``tryReserve()`` held (the start is settled: counted as running by ``add(_:)``, or refused),
    /// waking a waiter when that frees one.
    func unreserve() {
        let waiters = state.withLock { state -> [ShutdownFlag] in
            state.reserved = max(0, state.reserved - 1)
            return state.taken < limit ? state.takeWaiters() : []
        }
        Self.wake(waiters)
    }

    /// Wakes every waiter (at shutdown, so the command loop can end).
    func wakeAll() {
        Self.wake(state.withLock { $0.takeWaiters() })
    }

    var isFull: Bool { state.withLock { $0.taken >= limit } }
    var runningCount: Int { state.withLock { $0.running.count } }
    /// The keys holding a slot now (execution ids, and remote partitions' negated step execution ids).
    var runningKeys: Set<Int64> { state.withLock { $0.running } }

}
