import Foundation

/// A child process of a test (a worker, the server, a CLI run or a helper script) with its standard output and
/// standard error captured in one file.
public final class WorkerProcess: @unchecked Sendable {  // Process is thread-safe for what is used here
    /// The running process.
    public let process = Process()
    /// The file its output goes to.
    public let logPath: String

    /// Starts `executable` with `arguments` and exactly `environment`, its output written to the file `log`.
    public init(executable: String, arguments: [String], environment: [String: String], log: String) throws {
        logPath = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Everything the process wrote so far.
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    /// Its process identifier.
    public var pid: Int32 { process.processIdentifier }
    /// Whether it still runs.
    public var isRunning: Bool { process.isRunning }

    /// Waits until the output contains `text`.
    /// - Throws: ``WorkerProcessError`` with the end of the output when the process exits first or `timeout` passes.
    public func waitForLog(_ text: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(text) { return }
            guard process.isRunning else { throw WorkerProcessError("process exited early:\n\(output.suffix(3000))") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw WorkerProcessError("'\(text)' not logged within \(timeout):\n\(output.suffix(3000))")
    }

    /// Waits for the process to exit and returns its status.
    /// - Throws: ``WorkerProcessError`` when it still runs after `timeout` (it is killed then).
    public func waitForExit(timeout: Duration) async throws -> Int32 {
        guard let status = try await exitStatus(within: timeout) else {
            kill()
            throw WorkerProcessError("process still running after \(timeout):\n\(output.suffix(3000))")
        }
        return status
    }

    /// Waits for the process to exit: its status, or nil if it still runs after `timeout` (it is left running).
    public func exitStatus(within timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// Sends SIGTERM if it still runs.
    public func terminate() { if process.isRunning { Foundation.kill(pid, SIGTERM) } }
    /// Sends SIGKILL if it still runs.
    public func kill() { if process.isRunning { Foundation.kill(pid, SIGKILL) } }
}

/// A child process of a test did not do what the test waited for; the description carries the end of its output.
public struct WorkerProcessError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    /// Creates the error.
    public init(_ description: String) { self.description = description }
}
