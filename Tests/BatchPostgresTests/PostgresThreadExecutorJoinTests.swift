import BatchTestKit
import Foundation
import Synchronization
import Testing

@testable import BatchPostgres

/// `PostgresThreadExecutor.shutdown()` joins its thread (directly, or through `joinStoppedThreads()` when the
/// executor shuts itself down from its own thread, as a closing connection does), so nothing of libpq still runs when
/// the process exits.
@Suite(.timeLimit(.minutes(1))) struct PostgresThreadExecutorJoinTests {
    /// An actor living on a `PostgresThreadExecutor`, like `PostgresConnection`.
    actor Host {
        nonisolated let executor: PostgresThreadExecutor
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

        init(_ executor: PostgresThreadExecutor) { self.executor = executor }

        /// The kernel id of the thread the actor runs on (from `/proc/thread-self`).
        func threadId() throws -> String {
            #expect(executor.isCurrentThread)
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
            return String(link.split(separator: "/").last ?? "")
        }

        /// Shuts the executor down from its own thread, as `PostgresConnection.close()` does, then keeps that thread
        /// busy for `lingering` seconds (the rest of a closing connection's last job); `requested` opens as soon as
        /// the shutdown was asked for.
        func closeFromInside(lingering: Double, requested: Gate) {
            executor.shutdown()
            requested.open()
            Thread.sleep(forTimeInterval: lingering)
        }

        /// Whether this job runs on the executor's own thread.
        func runsOnExecutorThread() -> Bool { executor.isCurrentThread }

        /// Stays busy on the thread.
        func busy(for seconds: Double) {
            Thread.sleep(forTimeInterval: seconds)
        }
    }

    /// Whether a thread of this process with this kernel id still exists.
    static func threadExists(_ tid: String) -> Bool {
        FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)")
    }

    @Test func shutdownFromAnotherThreadReturnsOnlyAfterTheThreadEnded() async throws {
        let host = Host(PostgresThreadExecutor(name: "join-test"))
        let tid = try await host.threadId()
        #expect(Self.threadExists(tid))
        // A job still queued when shutdown is asked for runs first: shutdown waits for it and for the thread's end.
        let busy = Task { await host.busy(for: 0.3) }
        try await Task.sleep(for: .milliseconds(50))
        host.executor.shutdown()
        #expect(!Self.threadExists(tid))
        await busy.value
        host.executor.shutdown()  // again: harmless
    }

    @Test func shutdownFromItsOwnThreadIsJoinedByJoinStoppedThreads() async throws {
        let host = Host(PostgresThreadExecutor(name: "join-test"))
        let tid = try await host.threadId()
        let requested = Gate()
        let closing = Task { await host.closeFromInside(lingering: 1, requested: requested) }
        await requested.wait()
        #expect(Self.threadExists(tid))  // still busy in its last job
        // joinStoppedThreads() waits for the thread's end.
        await PostgresThreadExecutor.joinStoppedThreads()
        #expect(!Self.threadExists(tid))
        await closing.value
    }

    /// Jobs sent after shutdown still run (on the caller's thread): nothing is lost, nothing hangs.
    @Test func jobsAfterShutdownStillRun() async throws {
        let host = Host(PostgresThreadExecutor(name: "join-test"))
        _ = try await host.threadId()
        host.executor.shutdown()
        // The job runs on the caller's thread, not the stopped executor's (a lost job would hang: the time limit).
        #expect(await host.runsOnExecutorThread() == false)
    }
}
