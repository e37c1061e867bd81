import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

/// `--idle-timeout`: a connection that sends no request is closed, so idle clients cannot pile up until the process
/// runs out of descriptors; an event stream, a response being written, is not cut while its client reads it, and is
/// when its client stops reading.
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

    @Test("an event stream whose client stops reading is closed after the timeout, and its slot is free again")
    func streamsOfClientsThatStopReadingAreClosed() async throws {
        try await ServerWorld.with(
            workers: 0, serverArguments: ["--idle-timeout", "1", "--keep-alive", "0.2", "--max-event-streams", "1"]
        ) { world in
            // A client with a tiny receive window that asks for the stream and never reads a byte of it.
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var window: Int32 = 4096
            setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &window, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(world.port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try #require(connected == 0)
            try RawHTTP.send(socket, Array("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:\(world.port)\r\n\r\n".utf8))
            try await world.server.waitForLog("event stream opened", timeout: .seconds(10))
            // Events far beyond what the socket buffers hold, so that the server's writes stall.
            let pad = String(repeating: "x", count: 30_000)
            for n in 0..<400 {
                try await world.messaging.connection.publish(
                    AMQPMessage(
                        text: #"{"jobName":"big","executionId":\#(n + 1),"pad":"\#(pad)"}"#,
                        properties: AMQPProperties(contentType: "application/json")),
                    exchange: world.messaging.topology.eventsExchange, routingKey: "progress.big")
            }
            try await eventually("the stream is closed", timeout: .seconds(20), every: .milliseconds(50)) {
                world.server.output.contains("event stream closed")
            }
            #expect(world.server.output.contains("closing a connection whose client stopped reading"))
            // Its slot (the only one) is free: a new stream opens.
            let stream = try EventStreamClient(port: world.port, path: "/api/events")
            defer { stream.close() }
            try await eventually("a new stream opens", timeout: .seconds(10), every: .milliseconds(20)) {
                stream.received.contains(": connected")
            }
        }
    }
}
