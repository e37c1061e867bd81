extension JobRepository {
    /// Stores the partition as ``JobRepository/handBackPartition(_:)`` describes through
    /// ``updateStepExecution(_:)``, for a repository whose update stores every field of a step execution.
    public func handBackPartition(_ stepExecution: StepExecution) async throws -> StepExecution {
        var waiting = stepExecution
        waiting.status = .starting
        waiting.workerId = nil
        waiting.endTime = nil
        waiting.exitCode = ""
        waiting.exitMessage = ""
        waiting.attempt = max(0, stepExecution.attempt - 1)
        return try await updateStepExecution(waiting)
    }
}
