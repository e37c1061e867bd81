import Foundation

extension InMemoryJobRepository {
    /// Records that a worker is alive, for the lease sweep of remote partitions (the twin of the `workers` table's
    /// heartbeat): a partition whose worker has no heartbeat within the lease, or none at all, counts as lost.
    public func recordHeartbeat(workerId: String) {
        state.withLock { $0.heartbeats[workerId] = .now }
    }

    /// Forgets a worker's heartbeat (it deregistered, or a test loses it).
    public func removeHeartbeat(workerId: String) {
        state.withLock { $0.heartbeats[workerId] = nil }
    }

    /// See ``JobRepository/stepExecution(id:)``.
    public func stepExecution(id: Int64) async throws -> StepExecution? {
        state.withLock { $0.steps[id] }
    }

    /// See ``JobRepository/handBackPartition(_:)``: the partition stored waiting again, through
    /// ``updateStepExecution(_:)`` (which stores every field here).
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

    /// See ``JobRepository/createStepExecutions(_:)``.
    public func createStepExecutions(_ stepExecutions: [StepExecution]) async throws -> [StepExecution] {
        let now = Date()
        return try state.withLock { state in
            for step in stepExecutions where state.executions[step.jobExecutionId] == nil {
                throw BatchError(.executionNotFound, "no job execution \(step.jobExecutionId)")
            }
            return stepExecutions.map { step in
                let job = state.executions[step.jobExecutionId]!
                var created = step
                created.id = state.makeId()
                created.version = 0
                created.lastUpdated = now
                state.steps[created.id] = created
                state.stepsOfExecution[job.id, default: []].append(created.id)
                state.lastStepOfInstance[Self.stepLookupKey(job.instanceId, created.stepName)] = created.id
                return created
            }
        }
    }

    /// See ``JobRepository/claimPartition(stepExecutionId:workerId:)``.
    public func claimPartition(stepExecutionId: Int64, workerId: String) async throws -> PartitionClaim {
        let now = Date()
        return state.withLock { state in
            guard var step = state.steps[stepExecutionId] else { return .notFound }
            guard step.status == .starting else { return .notWaiting(step) }
            let jobStatus = state.executions[step.jobExecutionId]?.status
            guard jobStatus == .starting || jobStatus == .started else {
                step.status = .stopped
                step.exitCode = BatchStatus.stopped.rawValue
                step.exitMessage = "the job execution is \(jobStatus?.rawValue ?? "gone"); the partition did not run"
                step.endTime = now
                step.version += 1
                step.lastUpdated = now
                state.steps[step.id] = step
                return .jobNotRunning(step)
            }
            step.status = .started
            step.workerId = workerId
            step.attempt += 1
            step.startTime = now
            step.version += 1
            step.lastUpdated = now
            state.steps[step.id] = step
            return .claimed(step)
        }
    }

    /// See ``JobRepository/reclaimLostPartitions(jobExecutionId:lease:maxAttempts:)``.
    public func reclaimLostPartitions(
        jobExecutionId: Int64, lease: Duration, maxAttempts: Int
    ) async throws -> PartitionReclaim {
        let now = Date()
        let clock = ContinuousClock.now
        return state.withLock { state in
            var result = PartitionReclaim()
            guard let job = state.executions[jobExecutionId], job.status.isRunning else { return result }
            for id in state.stepsOfExecution[jobExecutionId] ?? [] {
                guard var step = state.steps[id], step.status == .started || step.status == .stopping,
                    let worker = step.workerId
                else { continue }
                if let beat = state.heartbeats[worker], clock - beat <= lease { continue }
                step.version += 1
                step.lastUpdated = now
                if job.status == .stopping {
                    step.status = .stopped
                    step.exitCode = BatchStatus.stopped.rawValue
                    step.exitMessage =
                        "worker \(worker) was lost (no heartbeat within the lease) while the job execution was stopping"
                    step.endTime = now
                    result.stopped.append(step)
                } else if step.attempt >= maxAttempts {
                    step.status = .failed
                    step.exitCode = BatchStatus.failed.rawValue
                    step.exitMessage =
                        "worker \(worker) was lost (no heartbeat within the lease) on attempt \(step.attempt) of "
                        + "\(maxAttempts); the partition is not sent again"
                    step.endTime = now
                    result.failed.append(step)
                } else {
                    step.status = .starting
                    step.workerId = nil
                    result.resent.append(step)
                }
                state.steps[id] = step
            }
            return result
        }
    }
}
