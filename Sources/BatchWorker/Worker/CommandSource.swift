import Batch
import BatchRabbitMQ
import Logging
import Tracing

/// One command as received, with the means to settle it: the worker acks it once accepted (a start once its
/// execution row is committed), dead-letters what can never succeed, sends what met a passing failure back for a
/// later attempt, and answers when an answer was asked for.
///
/// RabbitMQ's deliveries (``AMQPCommandSource``) and ``InMemoryCommandSource``'s are the two kinds.
public protocol CommandDelivery: Sendable {
    /// The command it holds.
    /// - Throws: what is wrong with the body when it is not a valid command (not JSON, an unknown command or field,
    ///   too large): the worker dead-letters it with that reason.
    func command() throws -> Command
    /// How often the command met a passing failure before (carried with it, so the count survives any worker).
    var attempts: CommandAttempts { get }
    /// Settles it as done.
    func ack() async throws
    /// Moves it aside for good, with the reason it can never succeed.
    func deadLetter(reason: String) async throws
    /// Sends it back to be tried again after `delay`, carrying `attempts` (already counting this attempt).
    func retry(attempts: CommandAttempts, after delay: Duration) async throws
    /// Hands it back untouched, for this or another worker to take.
    func requeue() async throws
    /// Answers it, if an answer was asked for; does nothing otherwise.
    func reply(_ reply: Reply) async throws
    /// The trace context its sender put in it, read with `instrument`; `nil` when the source carries none.
    func traceContext(using instrument: any Instrument) -> ServiceContext?
}

extension CommandDelivery {
    /// No trace context: a source that carries none.
    public func traceContext(using instrument: any Instrument) -> ServiceContext? { nil }
}

/// Where a worker takes its commands from (the commands queue, or the control exchange a stop reaches every worker
/// through). One consumer: ``next()`` is called from one task at a time.
public protocol CommandSource: Sendable {
    /// The next command, waiting for one; `nil` once the source is cancelled or ended.
    func next() async throws -> (any CommandDelivery)?
    /// Stops receiving for now and hands back what was sent ahead but not yet taken (a full worker holds no
    /// command it cannot start).
    func pause() async throws
    /// Receives again after ``pause()``.
    func resume() async throws
    /// Stops receiving for good: ``next()`` returns `nil`. Deliveries already taken can still be settled.
    func cancel() async throws
    /// Cancels and hands back every delivery taken but not settled (the worker gives up at the end of its grace).
    func close() async throws
}

/// Where the worker announces what happens: every execution state change as an ``Event``, and stops for every
/// worker at once (the control exchange).
public protocol EventSink: Sendable {
    /// Publishes one event; returns once it is accepted.
    func publish(_ event: Event) async throws
    /// Publishes events in order; returns once each is accepted or refused, with `nil` for an accepted one and why
    /// not for the others. By default one event after another.
    func publish(_ events: [Event]) async -> [(any Error)?]
    /// Sends a command (a stop) to every worker.
    func broadcast(_ command: Command) async throws
    /// Sends `partition` commands to the partitions queue; returns once they are accepted.
    func sendPartitions(_ partitions: [Command]) async throws
    /// Publishes a running step's progress (`progress.<job>`); returns once it is accepted.
    func publish(_ progress: StepProgress) async throws
}

extension EventSink {
    /// Publishes the events one after another.
    public func publish(_ events: [Event]) async -> [(any Error)?] {
        var outcomes: [(any Error)?] = []
        outcomes.reserveCapacity(events.count)
        for event in events {
            do {
                try await publish(event)
                outcomes.append(nil)
            } catch {
                outcomes.append(error)
            }
        }
        return outcomes
    }

    /// Drops the progress: a sink that does not carry progress events.
    public func publish(_ progress: StepProgress) async throws {}

    /// Refuses: a sink that does not carry partitions (a worker given no partitions source sends none).
    public func sendPartitions(_ partitions: [Command]) async throws {
        throw BatchError(.invalidState, "this event sink does not carry remote partitions")
    }
}

extension WorkerRegistry {
    /// Marks FAILED the executions `workerId` still runs (a shutdown that cannot wait for them), if the registry
    /// answers within `limit`.
    /// - Returns: the executions marked; nil when the registry failed or did not answer in time (logged): the
    ///   lost-worker sweep will mark them once the lease expires.
    func failRunningExecutions(
        workerId: String, message: String, within limit: Duration, logger: Logger
    ) async -> [JobExecution]? {
        let marked = await Deadline.run(until: .now + limit) { () -> [JobExecution]? in
            do {
                return try await failRunningExecutions(workerId: workerId, message: message)
            } catch {
                logger.warning("could not mark the executions FAILED", metadata: ["error": "\(error)"])
                return nil
            }
        }
        if marked == nil {
            logger.warning("the database did not answer; the lease sweep will mark the executions FAILED")
        }
        return marked ?? nil
    }

    /// Registers, waiting while another live process holds the id, for at most its lease and two seconds: a worker
    /// restarted under a fixed `--worker-id` waits for its lost predecessor's lease to run out, while a second live
    /// worker given the same id is refused.
    /// - Throws: ``BatchError/Code/workerIdInUse`` when the id is still held after that; what `register` throws.
    func registerWhenFree(
        workerId: String, token: String, host: String, pid: Int, capacity: Int?, lease: Duration, logger: Logger
    ) async throws {
        let start = ContinuousClock.now
        var warned = false
        while true {
            do {
                return try await register(
                    workerId: workerId, token: token, host: host, pid: pid, capacity: capacity, lease: lease)
            } catch let error as BatchError where error.code == .workerIdInUse {
                // The holder's lease, when the refusal says it (a registry of this package does).
                let holderLease = (error.underlying as? WorkerIdHolder)?.lease ?? lease
                guard ContinuousClock.now < start + holderLease + .seconds(2) else { throw error }
                if !warned {
                    logger.warning("waiting for the worker id to be free", metadata: ["reason": "\(error.message)"])
                    warned = true
                }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

/// The workers' shared record: who is alive, and the executions of those who are not.
///
/// A worker registers, heartbeats, and deregisters when it ends cleanly; every heartbeat it also fails the
/// executions of workers whose heartbeat is older than the lease, and its own executions and remote partitions it is
/// not running (orphans of a start or claim whose commit answer was lost).
public protocol WorkerRegistry: Sendable {
    /// Records a worker as alive, with its capacity (its `--concurrency`; nil for a process without one) and its
    /// lease (its `--lease`: the sweeps of every worker find it lost once its heartbeat is older than that).
    ///
    /// An id another live process holds (another host or process, heartbeat within its lease) is refused with
    /// ``BatchError/Code/workerIdInUse``; the same process registering again, or anyone once the holder's lease ran
    /// out, takes it.
    func register(
        workerId: String, token: String, host: String, pid: Int, capacity: Int?, lease: Duration
    ) async throws
    /// Records a heartbeat of the process that registered with `token`.
    /// - Returns: `false` when the worker has no row of its own (it was removed, or another process took the id
    ///   once this one missed its lease): it registers again.
    func heartbeat(workerId: String, token: String) async throws -> Bool
    /// Removes a worker's record (a clean exit).
    func deregister(workerId: String) async throws
    /// Marks FAILED the running executions of workers whose heartbeat is older than their own lease (`lease` for a
    /// worker that registered none).
    /// - Returns: the executions marked FAILED.
    func sweepLostWorkers(lease: Duration) async throws -> [JobExecution]
    /// Marks FAILED the running executions recorded for `workerId` that it is not running.
    /// - Returns: the executions marked FAILED.
    func sweepOrphanedExecutions(workerId: String, running: Set<Int64>) async throws -> [JobExecution]
    /// Ends the remote partitions recorded as run by `workerId` that it is not running (`running` holds their step
    /// execution ids), so that their managers stop waiting: FAILED, or STOPPED when their job is stopping.
    /// - Returns: the partitions ended.
    func sweepOrphanedPartitions(workerId: String, running: Set<Int64>) async throws -> [StepExecution]
    /// Marks FAILED every running execution of `workerId` (its grace period ended with them still running).
    /// - Returns: the executions marked FAILED.
    func failRunningExecutions(workerId: String, message: String) async throws -> [JobExecution]
}

extension Command {
    /// Decodes a delivery's body and headers; what is wrong with it is a ``BatchError/Code/invalidJSON`` (it can
    /// never succeed: the ``CommandRetryPolicy`` dead-letters it).
    public static func decodingDelivery(
        _ body: [UInt8], headers: [String: AMQPFieldValue] = [:], limits: MessageLimits = MessageLimits()
    ) throws -> Command {
        do {
            return try Command(decoding: body, headers: headers, limits: limits)
        } catch let error as AMQPError {
            throw BatchError(.invalidJSON, error.message)
        }
    }
}
