import Foundation

extension Process {
    /// Starts the process, reads its standard output (and error, when both go to the pipe given) to the end and
    /// waits for its exit, on a Dispatch thread: a test that runs a program for seconds (a Python validator, say)
    /// does not hold one of Swift's cooperative threads, which are as many as cores and run every other test.
    ///
    /// - Parameter pipe: the pipe the process's output goes to (set as its standard output before the call).
    /// - Returns: the exit status and everything read from the pipe.
    public func runToEnd(reading pipe: Pipe) async throws -> (status: Int32, output: Data) {
        try run()
        // @unchecked Sendable: the process and pipe are only touched on the Dispatch thread from here on.
        struct Running: @unchecked Sendable {
            let process: Process
            let pipe: Pipe
        }
        let running = Running(process: self, pipe: pipe)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                // Read to the end before waiting, so a long output cannot fill the pipe and block the program.
                let data = running.pipe.fileHandleForReading.readDataToEndOfFile()
                running.process.waitUntilExit()
                continuation.resume(returning: (running.process.terminationStatus, data))
            }
        }
    }
}
