import Batch

/// Pauses after each committed chunk for the job's `throttleMs`, if any.
struct ChunkThrottle: ChunkListener {
    func afterChunk(_ context: StepContext) async throws {
        let pause = try context.parameters.int("throttleMs", default: 0)
        if pause > 0 { try await Task.sleep(for: .milliseconds(pause)) }
    }
}
