import BatchTestKit
import Foundation
import Testing

/// `--idle-timeout`: a connection that sends no request is closed, so idle clients cannot pile up until the process
/// runs out of descriptors; an event stream, a response being written, is never cut.
@Suite(.tags(.endToEnd), .timeLimit(.minutes(2)))
struct ServerIdleTimeoutTests {
    @Test("an idle connection is closed after the timeout; an event stream outlives it")
    func idleConnectionsAreClosedStreamsAreNot() async throws {
        try await ServerWorld.with(workers: 0, serverArguments: ["--idle-timeout", "1", "--keep-alive", "0.2"]) {
            world in
            let stream = try EventStreamClient(port: world.port, path: "/api/events")
            defer { stream.close() }
            let port = world.port
            let start = ContinuousClock.now
            // A connection that never sends a request: the server ends it (recv sees the end, 0).
            let closedAfter = try await Task.detached { () throws -> Duration in
                let socket = try RawHTTP.connect(port: port, timeout: .seconds(10))
                defer { close(socket) }
                var byte: UInt8 = 0
                let count = recv(socket, &byte, 1, 0)
                #expect(count == 0, "the server closed the connection (recv: \(count), errno \(errno))")
                return ContinuousClock.now - start
            }.value
            #expect(closedAfter >= .milliseconds(900) && closedAfter < .seconds(8), "\(closedAfter)")
            // The stream opened before is still being written: keep-alives keep arriving.
            let seen = stream.received.components(separatedBy: ": keep-alive").count
            try await eventually("more keep-alives after the idle timeout", timeout: .seconds(5)) {
                stream.received.components(separatedBy: ": keep-alive").count > seen
            }
        }
    }
}
