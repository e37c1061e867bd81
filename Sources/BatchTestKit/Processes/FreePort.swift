import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback TCP port nothing listens on now: bound to port 0, read back and released.
/// - Throws: ``WorkerProcessError`` when no socket can be bound.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw WorkerProcessError("no free port: socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else { throw WorkerProcessError("no free port: bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
