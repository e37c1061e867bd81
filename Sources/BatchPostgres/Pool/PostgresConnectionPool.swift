import Logging

/// A fixed-size pool of ``PostgresConnection``s: connections are opened on demand up to the configured size, handed
/// to one user at a time, and waited for when all are in use.
///
/// ```swift
/// let pool = PostgresConnectionPool(configuration: configuration, logger: logger)
/// let count = try await pool.withConnection { connection in
///     try await connection.query("SELECT count(*) AS n FROM batch.job_executions").single().decode("n", as: Int.self)
/// }
/// await pool.shutdown()
/// ```
public actor PostgresConnectionPool {
    /// The configuration every connection is made with; `pool.size` is the pool's size.
    public nonisolated let configuration: PostgresConfiguration
    private let logger: Logger
    private var idle: [PostgresConnection] = []
    private var openCount = 0
    private var waiters: [Waiter] = []
    private var nextWaiterId = 0
    /// Fails waiters whose lease timeout passed; runs while some wait with a timeout. One timer for all of them: a
    /// busy pool has waiters all the time, and a timer per wait cost more than the wait.
    private var expiry: Task<Void, Never>?
    private var isShutDown = false
    /// Connections being opened, so that a shutdown can stop their retries.
    private var opening: [ObjectIdentifier: PostgresConnection] = [:]
    /// Shutdowns waiting for the last open connection to close (``openCount`` reaching 0).
    private var drainWaiters: [Int: CheckedContinuation<Void, Never>] = [:]

    /// The most connections the pool opens.
    public nonisolated var size: Int { max(1, configuration.pool.size) }

    /// Creates a pool; it opens no connection until one is needed.
    ///
    /// - Parameters:
    ///   - configuration: connection settings and `pool.size` / `pool.leaseTimeout`.
    ///   - logger: handed to the connections.
    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// How many connections are open (idle and leased).
    public var openConnections: Int { openCount }

    /// How many connections are leased right now.
    public var leasedConnections: Int { openCount - idle.count }

    /// How many leases are waiting for a connection right now.
    public var waitingLeases: Int { waiters.count }

    /// Leases a connection, runs `body` with it, and gives it back (even when `body` throws).
    ///
    /// - Parameter body: the work; the connection is the caller's alone until `body` returns.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw; ``PostgresError`` with ``PostgresError/Code/poolShutDown``, or
    ///   ``PostgresError/Code/connectionFailed`` when no connection could be had in time.
    @discardableResult
    public nonisolated func withConnection<Result>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await lease()
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Leases a connection; give it back with ``release(_:)``. Prefer ``withConnection(_:)``.
    ///
    /// - Throws: ``PostgresError`` as ``withConnection(_:)`` does.
    public func lease() async throws -> PostgresConnection {
        guard !isShutDown else { throw Self.shutDownError() }
        if let connection = idle.popLast() {
            return connection
        }
        if openCount < size {
            openCount += 1
            return try await openReservedSlot()
        }
        return try await waitForConnection()
    }

    /// Connects in a slot already counted in `openCount`; gives the slot up (to the next waiter) on failure. A
    /// connection that comes up after a shutdown is closed at once.
    private func openReservedSlot() async throws -> PostgresConnection {
        let connection = PostgresConnection(configuration: configuration, logger: logger)
        let id = ObjectIdentifier(connection)
        opening[id] = connection
        do {
            try await connection.ensureConnected()
            opening[id] = nil
        } catch {
            opening[id] = nil
            slotFreed()
            throw error
        }
        guard !isShutDown else {
            await discard(connection)
            throw Self.shutDownError()
        }
        return connection
    }

    /// Closes a connection that leaves the pool and frees its slot.
    private func discard(_ connection: PostgresConnection) async {
        await connection.close()
        slotFreed()
    }

    /// Counts a connection gone: the slot goes to the next waiter, or ends a shutdown's wait when it was the last.
    private func slotFreed() {
        openCount -= 1
        if openCount == 0 {
            let waiters = drainWaiters
            drainWaiters.removeAll()
            for waiter in waiters.values { waiter.resume() }
        }
        wakeOneWaiterToOpen()
    }

    /// Gives a leased connection back. A connection left inside a transaction block, or that was closed, is
    /// discarded rather than handed to the next user.
    public func release(_ connection: PostgresConnection) async {
        guard connection.isReusable, !isShutDown else {
            await discard(connection)
            return
        }
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            waiter.continuation.resume(returning: connection)
        } else {
            idle.append(connection)
        }
    }

    /// Closes every connection and fails waiting and future leases; leased connections close when released, and
    /// connections being opened stop retrying and close once their attempt ends.
    ///
    /// Returns once every connection is closed, or after ``drainLimit`` if some stay leased or connecting: a call
    /// left running past its caller (a heartbeat abandoned at shutdown) usually ends within milliseconds, and the
    /// process must not exit — running OpenSSL's and libpq's clean-up — under its connect or statement.
    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        expiry?.cancel()
        expiry = nil
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.continuation.resume(throwing: Self.shutDownError()) }
        let closing = idle
        idle.removeAll()
        openCount -= closing.count
        for connection in closing { await connection.close() }
        for connection in opening.values { await connection.close() }
        await waitForNoOpenConnection(limit: Self.drainLimit)
    }

    /// The longest ``shutdown()`` waits for leased and connecting connections to close.
    static let drainLimit = Duration.seconds(1)

    /// Returns once ``openCount`` is 0, or after `limit`.
    private func waitForNoOpenConnection(limit: Duration) async {
        guard openCount > 0 else { return }
        nextWaiterId += 1
        let id = nextWaiterId
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            await self?.endDrainWait(id)
        }
        await withCheckedContinuation { drainWaiters[id] = $0 }
        timer.cancel()
    }

    private func endDrainWait(_ id: Int) {
        drainWaiters.removeValue(forKey: id)?.resume()
    }

    /// Waits for a released connection (or for a free slot kept for it, signalled with nil), up to the lease timeout.
    private func waitForConnection() async throws -> PostgresConnection {
        let id = nextWaiterId
        nextWaiterId += 1
        let deadline = configuration.pool.leaseTimeout.map { ContinuousClock.now + $0 }
        let connection = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append(Waiter(id: id, deadline: deadline, continuation: continuation))
                if deadline != nil, expiry == nil { startExpiry() }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
        if let connection { return connection }
        // A slot became free (a connection was discarded) and was kept for this lease: a lease that arrived
        // meanwhile waits behind it instead of taking it.
        return try await openReservedSlot()
    }

    /// Starts the task that fails waiters past their deadline, sleeping until the earliest one; it ends when no
    /// waiter has a deadline left.
    private func startExpiry() {
        expiry = Task { [weak self] in
            while let next = await self?.expireWaiters() {
                try? await Task.sleep(until: next, clock: .continuous)
                if Task.isCancelled { return }
            }
        }
    }

    /// Fails the waiters whose deadline passed and returns the earliest deadline left, or nil (ending the expiry
    /// task) when there is none. Waiters join at the back with the deadline `now + leaseTimeout`, one constant, so
    /// the deadlines never decrease from front to back: the expired ones are at the front.
    private func expireWaiters() -> ContinuousClock.Instant? {
        let now = ContinuousClock.now
        while let deadline = waiters.first?.deadline, deadline <= now {
            waiters.removeFirst().continuation.resume(throwing: timeoutError())
        }
        let earliest = waiters.first?.deadline
        if earliest == nil { expiry = nil }
        return earliest
    }

    private func timeoutError() -> PostgresError {
        PostgresError(
            .connectionFailed,
            "no PostgreSQL connection became free within \(configuration.pool.leaseTimeout ?? .zero) (pool size "
                + "\(size)); raise the pool size or shorten the work done while holding a connection")
    }

    private func cancelWaiter(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    /// Hands a free slot to the first waiter, counted as open from now on so that no newcomer takes it.
    private func wakeOneWaiterToOpen() {
        guard !waiters.isEmpty, openCount < size else { return }
        openCount += 1
        waiters.removeFirst().continuation.resume(returning: nil)
    }

    /// A lease waiting for a connection.
    private struct Waiter {
        let id: Int
        /// When the wait fails (`pool.leaseTimeout` after it began), or nil to wait as long as it takes.
        let deadline: ContinuousClock.Instant?
        let continuation: CheckedContinuation<PostgresConnection?, any Error>
    }

    private static func shutDownError() -> PostgresError {
        PostgresError(.poolShutDown, "the PostgreSQL connection pool was shut down")
    }
}
