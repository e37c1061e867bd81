import Foundation

/// Runs the local broker's `rabbitmqctl` with `arguments`, its output discarded, and waits for it. It talks to the
/// node `scripts/services` starts, `rabbit@localhost`, or to `BATCH_RABBITMQ_NODE`'s.
/// - Parameter notFound: what to throw when `rabbitmqctl` is not installed here.
/// - Returns: its exit status.
@discardableResult
public func rabbitmqctl(_ arguments: [String], notFound: @autoclosure () -> any Error) throws -> Int32 {
    let candidates = ["/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl", "/usr/bin/rabbitmqctl"]
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw notFound()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    let node = ProcessInfo.processInfo.environment["BATCH_RABBITMQ_NODE"] ?? "rabbit@localhost"
    process.arguments = ["-n", node] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}
