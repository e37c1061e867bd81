import Batch
import BatchRabbitMQ
import Foundation
import Logging
import ServiceLifecycle
import Tracing

/// The partition consumer: takes remote partitions from the partitions queue within the worker's capacity, runs
/// them, and on a graceful shutdown stops them at their next chunk and hands those whose job still runs back to
/// the queue.
struct PartitionConsumer: Service {
    let worker: Worker
    let source: any CommandSource

    func run() async throws { await worker.consumePartitions(source) }
}

/// Wakes waiting managers on the step events of `batch.events` (`step.#`).
struct StepEventListener: Service {
    let events: EventStream
    let dispatcher: WorkerPartitionDispatcher

    func run() async {
        let events = events
        await Deadline.runUntilGracefulShutdown {
            do {
                for try await event in events { dispatcher.wake(event.executionId) }
            } catch {}
        }
        _ = await Deadline.run(until: .now + .milliseconds(500)) { try? await events.consumer.cancel() }
    }
}

extension Worker {
    /// The capacity key of a partition: its step execution id, negated (job executions' ids are positive).
    static func slot(ofPartition stepExecutionId: Int64) -> Int64 { -stepExecutionId }
    /// The step execution id of a partition's capacity key (``slot(ofPartition:)``).
    static func stepExecutionId(ofSlot slot: Int64) -> Int64 { -slot }

    func consumePartitions(_ source: any CommandSource) async {
        let loop = Task { await self.partitionLoop(source) }
        await withGracefulShutdownHandler {
            _ = await Deadline.run(unless: partitionsShuttingDown) { await loop.value }
        } onGracefulShutdown: {
            self.partitionsShuttingDown.request()
            Task { try? await source.cancel() }
            self.capacity.wakeAll()
        }
        partitionsShuttingDown.request()
        let running = jobOperator.runningPartitionIds
        if !running.isEmpty {
            logger.info("stopping running partitions", metadata: ["partitions": "\(running)"])
            jobOperator.requestPartitionsStop()
        }
        let done: Bool? = await Deadline.run(until: .now + configuration.grace) {
            for task in self.partitionTasks.withLock({ Array($0.values) }) { await task.value }
            return true
        }
        if done == nil {
            logger.warning("grace period over with partitions still running; the lease sweep will send them again")
            _ = await Deadline.run(until: .now + .milliseconds(500)) { try? await source.close() }
        }
    }

    private func partitionLoop(_ source: any CommandSource) async {
        while let delivery = await nextDelivery(from: source, unless: partitionsShuttingDown, consumer: "partition") {
            // The claim counts the partition as running; the slot is held until then.
            guard await reserveSlot(for: delivery, pausing: source, unless: partitionsShuttingDown) else { continue }
            await handlePartition(delivery)
            capacity.unreserve()
            guard await waitWhileFull(pausing: source, unless: partitionsShuttingDown) else { return }
        }
    }

    /// Takes one partition message: checks it names a partition of a job this worker defines as its manager does,
    /// claims it (acked after that commit) and runs it in a task of its own. A message that can never run is
    /// dead-lettered with the reason, and the partition it names, if still waiting, ends FAILED with that reason (its
    /// manager would otherwise wait for ever); one that met a passing failure is retried later; one whose partition
    /// was taken already, or ended, is acked and dropped. All in a `batch.command` span continuing the manager's trace, under
    /// which the partition's own spans hang.
    func handlePartition(_ delivery: any CommandDelivery) async {
        await metrics.traced(delivery) { span in
            span?.attributes[BatchSpan.commandAction] = Command.Action.partition.rawValue
            await takePartition(delivery, span: span)
        }
    }

    /// Claims and launches the partition a message names; counted like a command (`partition`): accepted when
    /// claimed, refused when its job no longer runs or it was taken already.
    private func takePartition(_ delivery: any CommandDelivery, span: (any Span)?) async {
        let action = Command.Action.partition.rawValue
        var named: (jobExecutionId: Int64, stepExecutionId: Int64)?
        do {
            let command = try delivery.command()
            guard command.action == .partition, case .execution(let executionId) = command.target,
                let stepExecutionId = command.stepExecutionId
            else {
                throw BatchError(
                    .invalidJSON,
                    "only 'partition' messages belong on the partitions queue, found '\(command.action.rawValue)'")
            }
            named = (executionId, stepExecutionId)
            var logger = self.logger
            logger[metadataKey: "job.execution.id"] = "\(executionId)"
            logger[metadataKey: "step.execution.id"] = "\(stepExecutionId)"
            let (execution, _) = try await jobOperator.checkPartition(
                stepExecutionId: stepExecutionId, jobExecutionId: executionId)
            let claim = try await jobOperator.repository.claimPartition(
                stepExecutionId: stepExecutionId, workerId: configuration.workerId)
            switch claim {
            case .claimed(let step):
                record(.accepted, action: action, span: span)
                capacity.add(Self.slot(ofPartition: step.id))
                do { try await delivery.ack() } catch {
                    logger.warning("could not ack a claimed partition", metadata: ["error": "\(error)"])
                }
                logger.info(
                    "partition taken", metadata: ["step.name": "\(step.stepName)", "attempt": "\(step.attempt)"])
                await publishStepEvent(step, of: execution)
                launchPartition(step, of: execution, logger: logger)
            case .jobNotRunning(let step):
                record(.refused, action: action, span: span)
                try? await delivery.ack()
                logger.info(
                    "partition of a job that no longer runs: STOPPED", metadata: ["step.name": "\(step.stepName)"])
                await publishStepEvent(step, of: execution)
            case .notWaiting(let step):
                record(.refused, action: action, span: span)
                try? await delivery.ack()
                logger.info(
                    "partition already taken or ended; message dropped",
                    metadata: ["step.name": "\(step.stepName)", "status": "\(step.status.rawValue)"])
            case .notFound:
                throw BatchError(.executionNotFound, "no step execution \(stepExecutionId)")
            }
        } catch {
            await settlePartition(delivery, naming: named, failedWith: error, span: span)
        }
    }

    /// Settles a partition message that failed: dead-lettered when it can never run (and its partition, when it
    /// names one still waiting, ended FAILED with the reason so that its manager stops waiting), else retried.
    private func settlePartition(
        _ delivery: any CommandDelivery, naming named: (jobExecutionId: Int64, stepExecutionId: Int64)?,
        failedWith error: any Error, span: (any Span)?
    ) async {
        let impossible: Set<BatchError.Code> = [.jobNotFound, .invalidDefinition, .executionNotFound, .invalidJSON]
        let decision: CommandRetryPolicy.Decision
        if let error = error as? BatchError, impossible.contains(error.code) {
            decision = .deadLetter(error.batchDescription)
        } else {
            decision = configuration.commandRetry.decide(error, previous: delivery.attempts)
        }
        // No one waits for a partition's reply: refused, it is set aside (and counted) as dead-lettered.
        let outcome: WorkerMetrics.Outcome
        if case .refuse = decision { outcome = .deadLettered } else { outcome = WorkerMetrics.Outcome(decision) }
        record(outcome, action: Command.Action.partition.rawValue, span: span, error: error)
        switch decision {
        case .refuse(let reason), .deadLetter(let reason):
            if let named, await !failWaitingPartition(named, reason: reason) {
                // Dead-lettered while still waiting, it would have no message and its manager would wait for ever:
                // the message comes back once the database may answer again.
                let attempts = delivery.attempts.next(failedWith: reason)
                let delay = configuration.commandRetry.maximumDelay
                logger.warning(
                    "a partition that cannot run could not be marked FAILED; its message is tried again later",
                    metadata: ["reason": "\(reason)", "retry.in": "\(delay)"])
                do { try await delivery.retry(attempts: attempts, after: delay) } catch {
                    logger.error("could not send a partition back for a retry", metadata: ["error": "\(error)"])
                }
                return
            }
            logger.warning("dead-lettering a partition that cannot run", metadata: ["reason": "\(reason)"])
            do { try await delivery.deadLetter(reason: reason) } catch {
                logger.error("could not dead-letter a partition", metadata: ["error": "\(error)"])
            }
        case .retry(let attempts, let delay):
            logger.warning(
                "partition failed; it will be tried again",
                metadata: ["error": "\(error.batchDescription)", "retry.in": "\(delay)"])
            do { try await delivery.retry(attempts: attempts, after: delay) } catch {
                logger.error("could not send a partition back for a retry", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Ends a partition that no worker can run FAILED with `reason`, if it still waits (STARTING, of that job
    /// execution), and publishes its step event, which wakes its manager.
    /// - Returns: false when a passing failure (the database away) left it waiting; true when it was ended, or has
    ///   nothing to end (not waiting, or not found), or cannot be ended however often it is tried.
    private func failWaitingPartition(
        _ named: (jobExecutionId: Int64, stepExecutionId: Int64), reason: String
    ) async -> Bool {
        let repository = jobOperator.repository
        do {
            guard var step = try await repository.stepExecution(id: named.stepExecutionId),
                step.jobExecutionId == named.jobExecutionId, step.status == .starting,
                let execution = try await repository.jobExecution(id: named.jobExecutionId)
            else { return true }
            step.status = .failed
            step.exitCode = BatchStatus.failed.rawValue
            step.exitMessage = "the partition cannot run: \(reason)"
            step.endTime = Date()
            let stored = try await repository.updateStepExecution(step)
            await publishStepEvent(stored, of: execution)
            return true
        } catch let error as BatchError where error.code == .optimisticLock {
            return true  // another worker took it meanwhile: it runs there
        } catch {
            logger.error(
                "could not mark a partition that cannot run FAILED",
                metadata: ["step.execution.id": "\(named.stepExecutionId)", "error": "\(error.batchDescription)"])
            return !error.isTransient
        }
    }

    private func launchPartition(_ step: StepExecution, of execution: JobExecution, logger: Logger) {
        let task = Task {
            var final: StepExecution?
            do {
                final = try await jobOperator.runPartition(step, of: execution)
            } catch {
                logger.error("partition could not be recorded", metadata: ["error": "\(error.batchDescription)"])
            }
            if let ended = final {
                if ended.status == .stopped, partitionsShuttingDown.isRequested {
                    final = await handBack(ended, of: execution, logger: logger)
                }
                await publishStepEvent(final ?? ended, of: execution)
            }
            capacity.remove(Self.slot(ofPartition: step.id))
            partitionDispatcher?.wake(execution.id)
            _ = partitionTasks.withLock { $0.removeValue(forKey: step.id) }
        }
        partitionTasks.withLock { $0[step.id] = task }
    }

    /// A partition stopped because this worker shuts down, while its job still runs: back to STARTING and to the
    /// queue, for another worker to resume from its last chunk.
    private func handBack(_ stopped: StepExecution, of execution: JobExecution, logger: Logger) async -> StepExecution?
    {
        do {
            guard let status = try await jobOperator.repository.jobExecutionStatus(id: execution.id)?.status,
                status == .starting || status == .started
            else { return nil }
            let stored = try await jobOperator.repository.handBackPartition(stopped)
            do {
                try await sink.sendPartitions([.partition(executionId: execution.id, stepExecutionId: stored.id)])
            } catch {
                // Waiting without a message, no worker would ever take it: it ends STOPPED again.
                var ended = stored
                ended.status = .stopped
                ended.exitCode = BatchStatus.stopped.rawValue
                ended.exitMessage =
                    "the worker shut down and could not hand the partition back: \(error.batchDescription)"
                ended.endTime = Date()
                do {
                    let restored = try await jobOperator.repository.updateStepExecution(ended)
                    logger.warning(
                        "could not hand a stopped partition back; its manager sees it STOPPED",
                        metadata: ["error": "\(error.batchDescription)"])
                    return restored
                } catch {
                    logger.warning(
                        "could not hand a stopped partition back; it waits for a worker and its manager sends it again",
                        metadata: ["error": "\(error.batchDescription)"])
                    return stored
                }
            }
            logger.info("partition handed back to the fleet", metadata: ["step.name": "\(stored.stepName)"])
            return stored
        } catch {
            logger.warning(
                "could not hand a stopped partition back; its manager sees it STOPPED",
                metadata: ["error": "\(error.batchDescription)"])
            return nil
        }
    }

    /// Publishes the step events of partitions ended elsewhere than in their run (the orphan sweep), which wake
    /// their managers and show on the dashboard.
    func publishStepEvents(of steps: [StepExecution]) async {
        for step in steps {
            do {
                guard let execution = try await jobOperator.repository.jobExecution(id: step.jobExecutionId) else {
                    continue
                }
                await publishStepEvent(step, of: execution)
            } catch {
                logger.warning("could not publish a step event", metadata: ["error": "\(error.batchDescription)"])
            }
        }
    }

    private func publishStepEvent(_ step: StepExecution, of execution: JobExecution) async {
        let event = Event.step(
            executionId: execution.id, jobName: execution.jobName, instanceId: execution.instanceId,
            stepName: step.stepName, stepExecutionId: step.id, status: step.status,
            exitMessage: step.exitMessage.isEmpty ? nil : step.exitMessage, time: step.lastUpdated)
        do {
            try await sink.publish(event)
        } catch {
            logger.warning("could not publish a step event", metadata: ["error": "\(error)"])
        }
    }
}
