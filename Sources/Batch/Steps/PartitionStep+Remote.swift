import Foundation

extension PartitionStep {
    /// The key of the partitioned step's context holding the job's ``Job/fingerprint`` as the manager saw it.
    static let fingerprintKey = "batch.fingerprint"

    /// How often a waiting manager reads its partitions when no event wakes it first (and runs the lease sweep).
    static let pollInterval = Duration.seconds(1)
    /// The longest a partition waits for a worker before its message is sent again.
    static let longestResendWait = Duration.seconds(3600)

    /// The manager's side of a remote partition step: stores the partitions that must run in one transaction,
    /// dispatches them, waits for them to end (sending again those of lost workers), and aggregates.
    func executeRemotely(_ scope: StepScope, dispatcher: any RemotePartitionDispatcher) async throws -> BatchStatus {
        let run = scope.run
        // On a first run the fingerprint is stored with the partitions, in the same update; a restart stores it
        // only when the job's structure changed since.
        let fingerprint = JSONValue.string(run.job.fingerprint)
        let recordsFingerprint = scope.execution.context[Self.fingerprintKey] != fingerprint
        if recordsFingerprint { scope.execution.context[Self.fingerprintKey] = fingerprint }
        let (partitions, resumed) = try await partitionsToRun(scope)
        if recordsFingerprint && resumed {
            scope.execution = try await run.repository.updateStepExecution(scope.execution)
            scope.context.stepContext = scope.execution.context
        }
        var finished: [StepExecution] = []
        var toCreate: [StepExecution] = []
        let now = Date()
        for (partition, context) in partitions.sorted(by: { $0.key < $1.key }) {
            let stepName = "\(name):\(partition)"
            let previous = try await previousExecution(ofPartition: stepName, resumed: resumed, run: run)
            if let previous, previous.status == .completed {
                finished.append(previous)
                continue
            }
            toCreate.append(
                StepExecution(
                    jobExecutionId: run.execution.id, stepName: stepName, startTime: now, lastUpdated: now,
                    context: previous?.context ?? context))
        }
        let created = try await run.repository.createStepExecutions(toCreate)
        run.logger.info("partitions sent to the fleet", metadata: ["partitions": "\(created.count)"])
        dispatcher.managerWaiting(jobExecutionId: run.execution.id, true)
        defer { dispatcher.managerWaiting(jobExecutionId: run.execution.id, false) }
        finished += try await waitForRemote(created, scope: scope, dispatcher: dispatcher)
        return try await aggregate(finished.sorted { $0.stepName < $1.stepName }, into: scope)
    }

    /// Dispatches `created` and waits until every one has ended; returns them as last stored.
    private func waitForRemote(
        _ created: [StepExecution], scope: StepScope, dispatcher: any RemotePartitionDispatcher
    ) async throws -> [StepExecution] {
        let run = scope.run
        let jobExecutionId = run.execution.id
        var pending = Dictionary(uniqueKeysWithValues: created.map { ($0.id, $0) })
        var unsent = created.map(\.id)
        // When each partition was last sent and how long it may wait for a worker before it is sent again: a message
        // lost on its way (dead-lettered, dropped) must not leave the manager waiting for ever.
        var sent: [Int64: (at: ContinuousClock.Instant, wait: Duration)] = [:]
        var finished: [StepExecution] = []
        var failingSince: ContinuousClock.Instant?
        var stopsMarked = false
        while !pending.isEmpty {
            do {
                if !unsent.isEmpty {
                    try await dispatcher.dispatch(
                        unsent.map {
                            RemotePartition(
                                jobName: run.execution.jobName, jobExecutionId: jobExecutionId, stepExecutionId: $0)
                        })
                    let now = ContinuousClock.now
                    for id in unsent {
                        let wait = sent[id].map { min($0.wait * 2, Self.longestResendWait) } ?? dispatcher.resendAfter
                        sent[id] = (now, wait)
                    }
                    unsent = []
                }
                for step in try await run.repository.stepExecutions(jobExecutionId: jobExecutionId)
                where pending[step.id] != nil {
                    pending[step.id] = step
                    if step.status.isFinished {
                        pending[step.id] = nil
                        finished.append(step)
                    }
                }
                if pending.isEmpty { break }
                let now = ContinuousClock.now
                let overdue = pending.values.filter { step in
                    step.status == .starting && sent[step.id].map { now - $0.at >= $0.wait } == true
                }
                if !overdue.isEmpty {
                    run.logger.info(
                        "partitions still wait for a worker; their messages are sent again",
                        metadata: ["partitions": "\(overdue.map(\.stepName).sorted())"])
                    unsent += overdue.map(\.id)
                }
                if !stopsMarked, try await run.stopSignal.check(executionId: jobExecutionId, repository: run.repository)
                {
                    // Partitions no worker took yet end here; running ones stop at their next chunk.
                    stopsMarked = try await stopWaiting(&pending, &finished, run)
                }
                let reclaimed = try await run.repository.reclaimLostPartitions(
                    jobExecutionId: jobExecutionId, lease: dispatcher.lease, maxAttempts: max(1, dispatcher.maxAttempts)
                )
                unsent += reclaimed.resent.map(\.id)
                failingSince = nil
            } catch {
                let since = failingSince ?? .now
                failingSince = since
                run.logger.warning(
                    "could not follow the partitions; trying again", metadata: ["error": "\(error.batchDescription)"])
                if ContinuousClock.now - since > run.outcomeRetryDeadline { throw error }
            }
            await dispatcher.waitForPartitions(of: jobExecutionId, atMost: Self.pollInterval)
        }
        return finished
    }

    /// Ends the partitions no worker has taken yet STOPPED (a worker that takes one later finds it ended).
    /// - Returns: whether every waiting partition was settled.
    private func stopWaiting(
        _ pending: inout [Int64: StepExecution], _ finished: inout [StepExecution], _ run: JobRun
    ) async throws -> Bool {
        var settled = true
        for var step in pending.values where step.status == .starting {
            step.status = .stopped
            step.exitCode = BatchStatus.stopped.rawValue
            step.exitMessage = "the job execution was stopped before a worker took the partition"
            step.endTime = Date()
            do {
                let stored = try await run.repository.updateStepExecution(step)
                pending[stored.id] = nil
                finished.append(stored)
            } catch let error as BatchError where error.code == .optimisticLock {
                settled = false  // a worker took it meanwhile: it stops at its next chunk
            }
        }
        return settled
    }

    /// A worker's side: runs the claimed partition `claimed` of this step (the inner step, from the partition's
    /// context) in `run`.
    func runClaimed(_ claimed: StepExecution, in run: JobRun) async throws -> StepExecution {
        let partition = String(claimed.stepName.dropFirst(name.count + 1))
        return try await StepRunner.execute(
            step, as: claimed, partition: partition, in: run,
            listeners: run.job.listeners.merged(with: listeners).merged(with: step.listeners))
    }
}
