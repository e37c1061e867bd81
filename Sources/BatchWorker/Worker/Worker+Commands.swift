import Batch
import BatchRabbitMQ
import Logging

extension Worker {
    /// Takes commands while there is capacity: when every slot is busy it pauses the consumer (the broker takes
    /// back what it sent ahead) until a job ends.
    func commandLoop(_ commands: CommandStream) async {
        var iterator = commands.makeAsyncIterator()
        while !shuttingDown.isRequested {
            let incoming: IncomingCommand?
            do {
                incoming = try await iterator.next()
            } catch {
                if shuttingDown.isRequested || Task.isCancelled { return }
                logger.error("command consumer failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let incoming else { return }
            await handle(incoming)
            // Short jobs free their slot within moments: wait a little before giving the broker back what it sent
            // ahead, so a busy worker does not cancel and re-create its consumer after every job.
            if capacity.isFull, !shuttingDown.isRequested, await !capacity.waitForFreeSlot(atMost: Self.pauseGrace) {
                try? await commands.consumer.pause()
                logger.debug("at capacity: paused consuming", metadata: ["running": "\(capacity.runningCount)"])
                await capacity.waitForFreeSlot()
                if shuttingDown.isRequested { return }
                try? await commands.consumer.resume()
            }
        }
    }

    /// Runs one command and settles its delivery: acked once accepted (a start once its execution row is
    /// committed), dead-lettered when it can never succeed, acked with a refusal when the rules refuse it, and
    /// requeued when the database or broker failed underneath.
    func handle(_ incoming: IncomingCommand) async {
        let command = incoming.command
        var logger = self.logger
        logger[metadataKey: "command"] = "\(command.action.rawValue)"
        logger[metadataKey: "target"] = "\(command.target)"
        do {
            let executionId = try await execute(command)
            try incoming.delivery.ack()
            logger.info("command accepted", metadata: ["job.execution.id": "\(executionId.map(String.init) ?? "-")"])
            await reply(.accepted(executionId: executionId), to: incoming, logger)
        } catch let error as BatchError where Self.neverSucceeds.contains(error.code) {
            logger.warning("dead-lettering a command that can never succeed", metadata: ["reason": "\(error.message)"])
            await reply(.refused(error.message), to: incoming, logger)
            do {
                try await messaging.deadLetter(incoming.delivery, reason: error.message)
            } catch {
                logger.error("could not dead-letter a command", metadata: ["error": "\(error)"])
            }
        } catch let error as BatchError where Self.refusals.contains(error.code) {
            logger.info("command refused", metadata: ["reason": "\(error.message)"])
            try? incoming.delivery.ack()
            await reply(.refused(error.message), to: incoming, logger)
        } catch {
            logger.error("command failed; requeueing it", metadata: ["error": "\(error)"])
            try? await Task.sleep(for: .seconds(1))
            try? incoming.delivery.nack(requeue: true)
        }
    }

    /// How long a full worker waits for a slot before it pauses its consumer.
    static let pauseGrace = Duration.milliseconds(100)

    /// Codes of commands that fail the same way however often they are tried: dead-lettered.
    static let neverSucceeds: Set<BatchError.Code> = [.jobNotFound, .invalidParameters, .invalidJSON]

    /// Codes of commands the rules refuse now: answered and dropped.
    static let refusals: Set<BatchError.Code> = [
        .alreadyRunning, .alreadyComplete, .abandoned, .endedAbnormally, .notRestartable, .notRunning,
        .executionNotFound, .cannotAbandon,
    ]

    private func execute(_ command: Command) async throws -> Int64? {
        switch command.action {
        case .start:
            guard case .job(let name) = command.target else {
                throw BatchError(.invalidParameters, "a start command names a job, not an execution")
            }
            let id = try await jobOperator.startAsync(name, parameters: JobParameters(command.parameters))
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
                    try await messaging.broadcast(.stop(executionId: execution.id))
                } catch {
                    logger.warning("could not broadcast a stop", metadata: ["error": "\(error)"])
                }
            }
            return execution.id
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

    private func reply(_ reply: Reply, to incoming: IncomingCommand, _ logger: Logger) async {
        do {
            try await messaging.reply(reply, to: incoming.delivery)
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
