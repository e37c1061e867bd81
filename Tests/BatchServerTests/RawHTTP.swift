import Batch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP/1.1 answer: status, headers (lower-cased names) and body.
struct HTTPAnswer: Sendable {
    let status: Int
    let headers: [String: String]
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as JSON (strict parser).
    var json: JSONValue {
        get throws { try JSONValue(parsing: body) }
    }

    /// The `error` message of an error body.
    var error: String { (try? json)?.objectValue?["error"]?.stringValue ?? "" }
}

struct HTTPTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A deliberately small HTTP/1.1 client over a blocking socket: one request per connection (`Connection: close`),
/// the answer read to the end. It sends exactly the bytes given, so tests can send what a browser would not.
enum RawHTTP {
    /// Sends a request and reads the whole answer.
    static func request(
        port: Int, method: String, path: String, headers: [String: String] = [:], body: [UInt8] = [],
        timeout: Duration = .seconds(60)
    ) async throws -> HTTPAnswer {
        // A Host among `headers` replaces the loopback address's.
        let host = headers.first { $0.key.lowercased() == "host" }?.value ?? "127.0.0.1:\(port)"
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, value) in headers where name.lowercased() != "host" { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8) + body
        return try await Task.detached {
            let socket = try connect(port: port, timeout: timeout)
            defer { close(socket) }
            try send(socket, bytes)
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = recv(socket, &buffer, buffer.count, 0)
                if count <= 0 { break }
                received += buffer[0..<count]
            }
            return try parse(received)
        }.value
    }

    /// Connects to the loopback port, with send and receive timeouts.
    static func connect(port: Int, timeout: Duration) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw HTTPTestError("socket() failed") }
        var time = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(socket)
            throw HTTPTestError("cannot connect to 127.0.0.1:\(port)")
        }
        return socket
    }

    static func send(_ socket: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            // The server may answer (413) and close before it has read everything: that is an answer too.
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// Splits status line, headers and body; undoes chunked transfer encoding.
    static func parse(_ bytes: [UInt8]) throws -> HTTPAnswer {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else {
            throw HTTPTestError(
                "no complete HTTP head in \(bytes.count) bytes: \(String(decoding: bytes, as: UTF8.self).prefix(200))")
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw HTTPTestError("bad status line \(lines[0])")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var body = Array(bytes[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return HTTPAnswer(status: status, headers: headers, body: body)
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = bytes[index...].indices.first(where: { bytes[$0...].starts(with: [13, 10]) }),
                let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self), radix: 16), size > 0
            else { break }
            let start = lineEnd + 2
            output += bytes[start..<min(start + size, bytes.count)]
            index = start + size + 2
        }
        return output
    }
}

/// An open server-sent event stream read on a thread of its own; what arrived so far is in `received`.
final class EventStreamClient: Sendable {
    private let socket: Int32
    private let buffer = Mutex<[UInt8]>([])
    /// Whether ``close()`` was called, and whether the reading thread has closed the socket: both change under the
    /// lock, so `shutdown` never reaches a descriptor number the thread has already given back.
    private let state = Mutex((closing: false, socketClosed: false))

    /// Opens `GET path` and starts reading.
    init(port: Int, path: String, headers: [String: String] = [:]) throws {
        socket = try RawHTTP.connect(port: port, timeout: .seconds(1))
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        do {
            try RawHTTP.send(socket, Array((head + "\r\n").utf8))
        } catch {
            Glibc.close(socket)
            throw error
        }
        Thread.detachNewThread { [self] in read() }
    }

    /// Reads until the server or ``close()`` ends the stream, then closes the socket. Only this thread closes it:
    /// a descriptor closed while another thread may still `recv` on it can be reused meanwhile by a connection of
    /// another test in this process, which would then lose its bytes (or its socket, to a second close).
    private func read() {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while !state.withLock({ $0.closing }) {
            let count = recv(socket, &chunk, chunk.count, 0)
            if count == 0 { break }
            if count < 0 { continue }  // the receive timeout: look at `closing` again
            buffer.withLock { $0 += chunk[0..<count] }
        }
        state.withLock { state in
            Glibc.close(socket)
            state.socketClosed = true
        }
    }

    /// Everything received, head included.
    var received: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }

    /// The `data:` lines of the events named `event`, parsed (the chunk-size lines of the transfer encoding are
    /// no `event:` or `data:` lines, so they pass unseen).
    func events(_ event: String) -> [JSONValue] {
        var current = ""
        var found: [JSONValue] = []
        for line in received.unicodeScalars.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init) {
            if line.hasPrefix("event: ") {
                current = String(line.dropFirst(7))
            } else if line.hasPrefix("data: "), current == event {
                if let value = try? JSONValue(parsing: line.dropFirst(6)) { found.append(value) }
                current = ""
            }
        }
        return found
    }

    /// Ends the connection (the client goes away): the reading thread sees the end and closes the socket. Calling
    /// it again does nothing.
    func close() {
        state.withLock { state in
            guard !state.closing else { return }
            state.closing = true
            if !state.socketClosed { shutdown(socket, Int32(SHUT_RDWR)) }
        }
    }
}
