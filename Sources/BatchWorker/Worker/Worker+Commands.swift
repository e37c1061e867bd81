import Batch
import BatchRabbitMQ
import Logging
import Tracing

extension Worker {
    /// Takes commands while there is capacity: when every slot is busy it pauses the source (which hands back what
    /// it sent ahead) until a job ends.
    ///
    /// Starts are launched up to ``launchLanes`` at a time, each holding a reserved slot until its launch is settled:
    /// a launch waits on one database round trip, and taking starts one after another left the worker idle while
    /// its queue was full. Any other command waits for the launches in flight, then runs alone, so a stop or restart
    /// sent after a start is handled after it, as before; a restart holds a slot too. The partition loop reserves
    /// its slot the same way, so the two loops never both take the last one.
    func commandLoop() async {
        var launches: [Task<Void, Never>] = []
        while let delivery = await nextDelivery(from: commands, unless: shuttingDown, consumer: "command") {
            let parsed = Result { try delivery.command() }
            let action = try? parsed.get().action
            // A start or a restart launches an execution: it holds a slot until its launch is settled. Handed back,
            // the delivery is followed by the next one (none once stopping).
            if action == .start || action == .restart {
                guard await reserveSlot(for: delivery, pausing: commands, unless: shuttingDown) else { continue }
            }
            if action == .start {
                if launches.count >= Self.launchLanes { await launches.removeFirst().value }
                launches.append(
                    Task {
                        await self.handle(delivery, parsed: parsed)
                        self.capacity.unreserve()
                    })
            } else {
                for launch in launches { await launch.value }
                launches.removeAll()
                await handle(delivery, parsed: parsed)
                if action == .restart { capacity.unreserve() }
            }
            guard await waitWhileFull(pausing: commands, unless: shuttingDown) else { break }
        }
        // Launches in flight settle their deliveries before the loop ends.
        for launch in launches { await launch.value }
    }

    /// The next delivery of `source`; a consumer that failed is retried every second. `nil` once the source ended
    /// or `stop` was requested.
    func nextDelivery(
        from source: any CommandSource, unless stop: ShutdownFlag, consumer: String
    ) async -> (any CommandDelivery)? {
        while !stop.isRequested {
            do {
                return try await source.next()
            } catch {
                if stop.isRequested || Task.isCancelled { return nil }
                logger.error("\(consumer) consumer failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        return nil
    }

    /// When every slot is taken, waits a little (short jobs free their slot within moments, and a busy worker should
    /// not cancel and re-create its consumer after every job), then pauses `source` — which hands back what it sent
    /// ahead — until a slot frees. Returns `false` when `stop` was requested meanwhile.
    func waitWhileFull(pausing source: any CommandSource, unless stop: ShutdownFlag) async -> Bool {
        guard capacity.isFull, !stop.isRequested, await !capacity.waitForFreeSlot(atMost: Self.pauseGrace) else {
            return true
        }
        return await pauseUntilFree(source, unless: stop)
    }

    /// Pauses `source` — which hands back what it sent ahead — until a slot frees. Returns `false` when `stop` was
    /// requested meanwhile (the source stays paused).
    private func pauseUntilFree(_ source: any CommandSource, unless stop: ShutdownFlag) async -> Bool {
        try? await source.pause()
        logger.debug("at capacity: paused consuming", metadata: ["running": "\(capacity.runningCount)"])
        await capacity.waitForFreeSlot()
        if stop.isRequested { return false }
        try? await source.resume()
        return true
    }

    /// Holds a slot for the delivery in hand. When none frees within ``pauseGrace`` (the other loop took the last
    /// one, or the worker filled up while this loop waited for a delivery), the delivery goes back to the queue, for
    /// another worker, and `source` pauses until a slot frees: a full worker holds no command it cannot start.
    /// - Returns: whether a slot is held; if not, the caller goes on with the next delivery (``nextDelivery(from:unless:consumer:)``
    ///   gives none once `stop` is requested).
    func reserveSlot(
        for delivery: any CommandDelivery, pausing source: any CommandSource, unless stop: ShutdownFlag
    ) async -> Bool {
        if capacity.tryReserve() { return true }
        if !stop.isRequested, await capacity.waitForFreeSlot(atMost: Self.pauseGrace), capacity.tryReserve() {
            return true
        }
        try? await delivery.requeue()
        if !stop.isRequested { _ = await pauseUntilFree(source, unless: stop) }
        return false
    }

    /// How many starts a worker launches at once (each one database round trip, then its ack).
    static let launchLanes = 4

    /// Runs one command and settles its delivery: acked once accepted (a start once its execution row is
    /// committed); otherwise as the ``CommandRetryPolicy`` decides — acked with a refusal when the rules refuse it,
    /// dead-lettered at once when it can never succeed (a body that is not a valid command included), and sent back
    /// for a later attempt (holding no slot) when a passing failure met it, until its attempts run out and it is
    /// dead-lettered with its last error.
    func handle(_ delivery: any CommandDelivery) async {
        await handle(delivery, parsed: Result { try delivery.command() })
    }

    /// ``handle(_:)`` of a delivery whose body was parsed already.
    private func handle(_ delivery: any CommandDelivery, parsed: Result<Command, any Error>) async {
        await metrics.traced(delivery) { span in await handle(delivery, parsed: parsed, span: span) }
    }

    private func handle(
        _ delivery: any CommandDelivery, parsed: Result<Command, any Error>, span: (any Span)?
    ) async {
        let command: Command
        do {
            command = try parsed.get()
        } catch {
            await settle(delivery, failedWith: error, logger, action: "invalid", span: span)
            return
        }
        span?.attributes[BatchSpan.commandAction] = command.action.rawValue
        var logger = self.logger
        logger[metadataKey: "command"] = "\(command.action.rawValue)"
        logger[metadataKey: "target"] = "\(command.target)"
        let executionId: Int64?
        do {
            executionId = try await execute(command)
        } catch {
            await settle(delivery, failedWith: error, logger, action: command.action.rawValue, span: span)
            return
        }
        record(.accepted, action: command.action.rawValue, span: span)
        if let executionId { span?.attributes[BatchSpan.executionId] = executionId }
        do {
            try await delivery.ack()
        } catch {
            // The channel closed under the command: the broker redelivers it, and the rules refuse a second start.
            logger.warning("could not ack an accepted command", metadata: ["error": "\(error)"])
        }
        // A start or restart logs its job's STARTING line with the execution id: this line repeats it at debug.
        logger.log(
            level: command.action == .start || command.action == .restart ? .debug : .info, "command accepted",
            metadata: ["job.execution.id": "\(executionId.map(String.init) ?? "-")"])
        await reply(.accepted(executionId: executionId), to: delivery, logger)
    }

    /// Counts a handled command or partition message by action and outcome, and notes the outcome on its span — as
    /// a failure when an error made it anything but a refusal.
    func record(_ outcome: WorkerMetrics.Outcome, action: String, span: (any Span)?, error: (any Error)? = nil) {
        metrics.command(action, outcome)
        guard let span else { return }
        span.attributes[BatchSpan.commandOutcome] = outcome.rawValue
        if let error, outcome != .refused { BatchSpan.fail(span, message: error.batchDescription, error: error) }
    }

    private func settle(
        _ delivery: any CommandDelivery, failedWith error: any Error, _ logger: Logger, action: String,
        span: (any Span)?
    ) async {
        let decision = configuration.commandRetry.decide(error, previous: delivery.attempts)
        record(WorkerMetrics.Outcome(decision), action: action, span: span, error: error)
        switch decision {
        case .refuse(let reason):
            logger.info("command refused", metadata: ["reason": "\(reason)"])
            try? await delivery.ack()
            await reply(.refused(reason), to: delivery, logger)
        case .deadLetter(let reason):
            logger.warning("dead-lettering a command that cannot succeed", metadata: ["reason": "\(reason)"])
            await reply(.refused(reason), to: delivery, logger)
            do {
                try await delivery.deadLetter(reason: reason)
            } catch {
                logger.error("could not dead-letter a command", metadata: ["error": "\(error)"])
            }
        case .retry(let attempts, let delay):
            logger.warning(
                "command failed; it will be tried again",
                metadata: [
                    "error": "\(error.batchDescription)", "attempt": "\(attempts.attempts)",
                    "retry.in": "\(delay)",
                ])
            do {
                try await delivery.retry(attempts: attempts, after: delay)
            } catch {
                logger.error("could not send a command back for a retry", metadata: ["error": "\(error)"])
            }
        }
    }

    /// How long a full worker waits for a slot before it pauses its consumer.
    static let pauseGrace = Duration.milliseconds(100)

    private func execute(_ command: Command) async throws -> Int64? {
        switch command.action {
        case .start:
            guard case .job(let name) = command.target else {
                throw BatchError(.invalidParameters, "a start command names a job, not an execution")
            }
            let id = try await jobOperator.startAsync(
                name, parameters: JobParameters(command.parameters), newInstanceOnly: command.newInstanceOnly)
            capacity.add(id)
            return id
        case .restart:
            let id = try await jobOperator.restartAsync(Self.reference(command.target))
            capacity.add(id)
            return id
        case .stop:
            let execution = try await jobOperator.stop(Self.reference(command.target))
            // The worker running it learns at once, whichever worker took the command.
            if execution.status == .stopping {
                do {
                    try await sink.broadcast(.stop(executionId: execution.id))
                } catch {
                    logger.warning("could not broadcast a stop", metadata: ["error": "\(error)"])
                }
            }
            return execution.id
        case .partition:
            throw BatchError(
                .invalidJSON, "a 'partition' message belongs on the partitions queue, not the commands queue")
        case .abandon:
            let id: Int64
            switch command.target {
            case .execution(let executionId):
                id = executionId
            case .job(let name):
                id = try await jobOperator.lastExecution(of: .name(name)).id
            }
            return try await jobOperator.abandon(executionId: id).id
        }
    }

    private func reply(_ reply: Reply, to delivery: any CommandDelivery, _ logger: Logger) async {
        do {
            try await delivery.reply(reply)
        } catch {
            logger.warning("could not send a reply", metadata: ["error": "\(error)"])
        }
    }

    static func reference(_ target: Command.Target) -> JobReference {
        switch target {
        case .job(let name): .name(name)
        case .execution(let id): .executionId(id)
        }
    }
}
