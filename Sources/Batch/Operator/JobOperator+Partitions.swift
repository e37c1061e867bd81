import Foundation
import Logging

extension JobOperator {
    /// Checks that this process can run the remote partition `stepExecutionId` of job execution `jobExecutionId`
    /// as its manager defined it, before taking it.
    /// - Returns: the job execution and the partition as stored.
    /// - Throws: ``BatchError/Code/executionNotFound`` when either does not exist or the partition is not one of
    ///   that execution's; ``BatchError/Code/jobNotFound`` when this process does not know the job;
    ///   ``BatchError/Code/invalidDefinition`` when its definition of the job differs from the manager's (no
    ///   remote partition step of that name, or another step structure).
    public func checkPartition(
        stepExecutionId: Int64, jobExecutionId: Int64
    ) async throws -> (execution: JobExecution, partition: StepExecution) {
        guard let execution = try await repository.jobExecution(id: jobExecutionId) else {
            throw BatchError(.executionNotFound, "no job execution \(jobExecutionId)")
        }
        guard let partition = try await repository.stepExecution(id: stepExecutionId),
            partition.jobExecutionId == jobExecutionId
        else {
            throw BatchError(
                .executionNotFound, "no step execution \(stepExecutionId) in job execution \(jobExecutionId)")
        }
        let job: Job
        do {
            job = try registry.job(named: execution.jobName)
        } catch {
            throw BatchError(
                .jobNotFound,
                "this worker does not know job '\(execution.jobName)' (it defines \(registry.names.sorted())): "
                    + "deploy the same jobs on every worker")
        }
        let stepName = partition.stepName.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        guard partition.stepName.contains(":"), job.remotePartitionStep(named: stepName) != nil else {
            throw BatchError(
                .invalidDefinition,
                "this worker's definition of job '\(job.name)' has no remote partition step '\(stepName)' "
                    + "(partition '\(partition.stepName)'): the workers run different versions of the job")
        }
        // The partitioned step's own execution: the last of its name in the instance (one row, by index — not every
        // partition's row of the execution).
        let parent = try await repository.lastStepExecution(instanceId: execution.instanceId, stepName: stepName)
        let recorded = parent?.context[PartitionStep.fingerprintKey]?.stringValue
        let fingerprint = job.fingerprint
        guard recorded == fingerprint else {
            throw BatchError(
                .invalidDefinition,
                "this worker's definition of job '\(job.name)' differs from its manager's (step structure "
                    + "fingerprint \(fingerprint.prefix(12)), the manager's \(recorded.map { String($0.prefix(12)) } ?? "none")): "
                    + "the workers run different versions of the job")
        }
        return (execution, partition)
    }

    /// Runs a remote partition this worker claimed (``JobRepository/claimPartition(stepExecutionId:workerId:)``):
    /// the inner step from the partition's context, with chunks, checkpoints, stop checks and listeners as locally.
    /// A stop of the job execution reaches it through ``requestLocalStop(executionId:)`` and at every chunk.
    /// - Returns: the partition's final step execution, as stored.
    /// - Throws: ``BatchError/Code/jobNotFound`` or ``BatchError/Code/invalidDefinition`` as
    ///   ``checkPartition(stepExecutionId:jobExecutionId:)``; a repository error when the outcome could not be
    ///   stored.
    public func runPartition(_ claimed: StepExecution, of execution: JobExecution) async throws -> StepExecution {
        let job = try registry.job(named: execution.jobName)
        let stepName = claimed.stepName.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        guard let step = job.remotePartitionStep(named: stepName) else {
            throw BatchError(.invalidDefinition, "job '\(job.name)' has no remote partition step '\(stepName)'")
        }
        var logger = self.logger
        logger[metadataKey: "job.name"] = "\(job.name)"
        logger[metadataKey: "job.execution.id"] = "\(execution.id)"
        logger[metadataKey: "attempt"] = "\(claimed.attempt)"
        let signal = StopSignal()
        let run = JobRun(
            execution: execution, job: job, repository: repository, stopSignal: signal, observer: nil,
            outcomeRetryDeadline: outcomeRetryDeadline, resources: resources.overlaid(with: job.resources),
            logger: logger)
        partitionRuns.withLock { $0[execution.id, default: [:]][claimed.id] = signal }
        defer {
            partitionRuns.withLock { runs in
                runs[execution.id]?[claimed.id] = nil
                if runs[execution.id]?.isEmpty == true { runs[execution.id] = nil }
            }
        }
        return try await step.runClaimed(claimed, in: run)
    }

    /// The step execution ids of the remote partitions running in this process.
    public var runningPartitionIds: [Int64] {
        partitionRuns.withLock { $0.values.flatMap(\.keys).sorted() }
    }

    /// Asks every remote partition running in this process to stop at its next chunk (a worker shutting down).
    public func requestPartitionsStop() {
        for signal in partitionRuns.withLock({ $0.values.flatMap(\.values) }) { signal.request() }
    }
}
