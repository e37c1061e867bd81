import BatchPostgres
import BatchTestKit
import Testing

@Suite(.database) struct PostgresConnectionPoolTests {
    @Test func neverOpensMoreThanItsSizeAndQueuesTheRest() async throws {
        let configuration = try TestDatabase.configuration(poolSize: 2)
        let pool = PostgresConnectionPool(configuration: configuration, logger: TestDatabase.logger)
        let inUse = Locked((now: 0, most: 0))
        let backends = Locked(Set<Int32>())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await pool.withConnection { connection in
                        inUse.withLock {
                            $0.now += 1
                            $0.most = max($0.most, $0.now)
                        }
                        try await connection.query("SELECT pg_sleep(0.1)")
                        if let pid = await connection.backendProcessID { _ = backends.withLock { $0.insert(pid) } }
                        inUse.withLock { $0.now -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(inUse.withLock { $0.most } == 2)
        #expect(backends.withLock { $0.count } == 2, "six leases share two server sessions")
        #expect(await pool.openConnections == 2)
        #expect(await pool.leasedConnections == 0)
        await pool.shutdown()
        #expect(await pool.openConnections == 0)
    }

    @Test("a slot freed while a lease waits is kept for it: a lease that arrives meanwhile waits behind it")
    func aFreedSlotGoesToTheFirstWaiter() async throws {
        let pool = PostgresConnectionPool(
            configuration: try TestDatabase.configuration(poolSize: 1), logger: TestDatabase.logger)
        let held = try await pool.lease()
        let order = Locked<[String]>([])
        let first = Task {
            let connection = try await pool.lease()
            order.withLock { $0.append("first") }
            try await Task.sleep(for: .milliseconds(200))
            await pool.release(connection)
        }
        try await eventually("the first lease waits", timeout: .seconds(10)) { await pool.waitingLeases == 1 }
        await held.close()
        await pool.release(held)  // discarded: its slot is free
        // A newcomer, at once: it waits for the first lease to give its connection back.
        let connection = try await pool.lease()
        order.withLock { $0.append("second") }
        await pool.release(connection)
        try await first.value
        #expect(order.withLock { $0 } == ["first", "second"])
        #expect(await pool.openConnections == 1)
        await pool.shutdown()
    }

    /// A statement left running past its caller (a heartbeat abandoned at shutdown) should be over when the
    /// shutdown returns, for the process exits next; a lease never given back holds it up a second at most.
    @Test func aShutdownWaitsASecondAtMostForALeasedConnection() async throws {
        let pool = PostgresConnectionPool(
            configuration: try TestDatabase.configuration(poolSize: 2), logger: TestDatabase.logger)
        let held = try await pool.lease()
        let started = ContinuousClock.now
        await pool.shutdown()
        let elapsed = ContinuousClock.now - started
        // At least the second it waits; bounded, not waiting for the release that never comes (the upper figure leaves
        // room for a loaded machine, whose timer may fire seconds late).
        #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(20), "\(elapsed)")
        #expect(await pool.openConnections == 1)
        await pool.release(held)
        #expect(await pool.openConnections == 0)
        #expect(await held.isClosed, "given back after the shutdown, it is closed")
    }

    @Test func aLeaseTimesOutWhenEveryConnectionStaysBusy() async throws {
        var configuration = try TestDatabase.configuration(poolSize: 1)
        configuration.pool.leaseTimeout = .milliseconds(200)
        let pool = PostgresConnectionPool(configuration: configuration, logger: TestDatabase.logger)
        let held = try await pool.lease()
        let start = ContinuousClock.now
        let error = try await #require(throws: PostgresError.self) { _ = try await pool.lease() }
        #expect(error.code == .connectionFailed)
        #expect(error.message.contains("pool size 1"))
        #expect(ContinuousClock.now - start >= .milliseconds(200))
        await pool.release(held)
        // Released: the next lease gets it at once.
        try await pool.withConnection { try await $0.query("SELECT 1") }
        await pool.shutdown()
    }

    /// One timer serves every waiter: a wait begun later times out at its own deadline, not at the first one's, and
    /// a wait after the timer ended starts it again. Only lower bounds are asserted, so a stalled machine cannot
    /// fail the test.
    @Test(.timeLimit(.minutes(1))) func eachWaitTimesOutAtItsOwnDeadline() async throws {
        let timeout = Duration.seconds(1)
        var configuration = try TestDatabase.configuration(poolSize: 1)
        configuration.pool.leaseTimeout = timeout
        let pool = PostgresConnectionPool(configuration: configuration, logger: TestDatabase.logger)
        let held = try await pool.lease()
        let firstStart = ContinuousClock.now
        let first = Task { try await pool.lease() }
        try await Task.sleep(for: .milliseconds(500))
        let laterStart = ContinuousClock.now
        let later = Task { try await pool.lease() }
        let firstError = await #expect(throws: PostgresError.self) { _ = try await first.value }
        #expect(firstError?.code == .connectionFailed)
        #expect(ContinuousClock.now - firstStart >= timeout)
        let laterError = await #expect(throws: PostgresError.self) { _ = try await later.value }
        #expect(laterError?.code == .connectionFailed)
        #expect(ContinuousClock.now - laterStart >= timeout)
        // The timer ended with the last waiter; a new wait has one again.
        let again = ContinuousClock.now
        await #expect(throws: PostgresError.self) { _ = try await pool.lease() }
        #expect(ContinuousClock.now - again >= timeout)
        await pool.release(held)
        try await pool.withConnection { try await $0.query("SELECT 1") }
        await pool.shutdown()
    }

    @Test func shutdownFailsWaitingAndLaterLeases() async throws {
        let pool = PostgresConnectionPool(
            configuration: try TestDatabase.configuration(poolSize: 1), logger: TestDatabase.logger)
        let held = try await pool.lease()
        let waiting = Task { try await pool.lease() }
        try await Task.sleep(for: .milliseconds(100))
        await pool.shutdown()
        let waitError = await #expect(throws: PostgresError.self) { _ = try await waiting.value }
        #expect(waitError?.code == .poolShutDown)
        let laterError = await #expect(throws: PostgresError.self) { _ = try await pool.lease() }
        #expect(laterError?.code == .poolShutDown)
        await pool.release(held)
        #expect(await pool.openConnections == 0)
        #expect(await held.isClosed)
    }

    @Test func aConnectionLeftInATransactionIsNotHandedOn() async throws {
        let pool = PostgresConnectionPool(
            configuration: try TestDatabase.configuration(poolSize: 1), logger: TestDatabase.logger)
        let first = try await pool.lease()
        let firstPid = await first.backendProcessID
        // Simulate a user that leaked an open transaction block.
        struct Leak: Error {}
        let leaked = Task {
            try await first.withTransaction { _ in
                await pool.release(first)
                throw Leak()
            }
        }
        _ = await leaked.result
        let second = try await pool.lease()
        #expect(await second.backendProcessID != firstPid)
        await pool.release(second)
        await pool.shutdown()
    }
}
