import Foundation
import Logging
import Synchronization
import Tracing

/// The batch wire protocol (``Command``, ``Reply``, ``Event``, named by ``BatchTopology``) over one
/// ``AMQPConnection``: commands in (with dead-lettering of bad ones), replies, events, the control broadcast and the
/// RPC trigger.
///
/// ```swift
/// let messaging = BatchMessaging(connection: connection, logger: logger)
/// try await messaging.declareTopology()
/// let reply = try await messaging.request(.start("daily-accounting", parameters: ["date": "2026-11-25"]))
/// ```
public final class BatchMessaging: Sendable {
    /// The connection everything goes through.
    public let connection: AMQPConnection
    /// The names in use.
    public let topology: BatchTopology
    /// Limits for decoding.
    public let limits: MessageLimits
    let logger: Logger
    private let rpcClient = Mutex<Task<RPCClient, any Error>?>(nil)
    /// Dead-letter scans take turns (``DeadLetterScanTurns``).
    let deadLetterScans = DeadLetterScanTurns()

    /// Creates the protocol layer over a connection.
    ///
    /// - Parameters:
    ///   - connection: the connection.
    ///   - topology: the names (prefix `batch` by default).
    ///   - limits: the size limit of bodies (64 KiB by default).
    ///   - logger: where bad commands and other notable events are logged.
    ///   - instrument: what writes the current trace context into the commands and partitions sent (and reads it
    ///     back from those received); the process's bootstrapped one by default.
    public init(
        connection: AMQPConnection, topology: BatchTopology = BatchTopology(), limits: MessageLimits = MessageLimits(),
        logger: Logger, instrument: (any Instrument)? = nil
    ) {
        self.connection = connection
        self.topology = topology
        self.limits = limits
        self.logger = logger
        self.instrument = instrument ?? InstrumentationSystem.instrument
    }

    /// Carries trace context in the commands and partitions this sends, see ``MessageTraceContext``.
    public let instrument: any Instrument

    /// Declares the shared topology (commands queue with its dead-lettering, control and events exchanges), again
    /// after every reconnect.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/preconditionFailed`` when an entity exists with other
    ///   settings.
    public func declareTopology() async throws {
        try await connection.declare(topology.declarations)
    }

    static func jsonProperties(
        correlationID: String? = nil, replyTo: String? = nil, persistent: Bool = true
    )
        -> AMQPProperties
    {
        AMQPProperties(
            contentType: "application/json", persistent: persistent, correlationID: correlationID, replyTo: replyTo,
            timestamp: UInt64(Date().timeIntervalSince1970))
    }

    // MARK: - Commands

    /// Sends a command to the workers and returns once the broker has it (confirmed, persistent).
    ///
    /// - Throws: ``AMQPError``; ``AMQPError/Code/publishReturned`` when the commands queue does not exist.
    public func send(_ command: Command) async throws {
        try await send(command, correlationID: nil, replyTo: nil)
    }

    func send(_ command: Command, correlationID: String?, replyTo: String?) async throws {
        var properties = Self.jsonProperties(correlationID: correlationID, replyTo: replyTo)
        properties.headers.merge(command.headers) { _, command in command }
        MessageTraceContext.inject(into: &properties.headers, using: instrument)
        try await connection.publish(
            AMQPMessage(body: command.body, properties: properties), exchange: "", routingKey: topology.commandsQueue,
            mandatory: true)
    }

    /// Sends a command and waits for the worker's reply (the RPC trigger): the command carries `reply_to` (this
    /// process's own reply queue) and a fresh `correlation_id`.
    ///
    /// - Parameters:
    ///   - command: the command.
    ///   - timeout: how long to wait for the reply. Default 30 s.
    /// - Returns: the worker's reply.
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/timeout`` when no reply came in time.
    public func request(_ command: Command, timeout: Duration = .seconds(30)) async throws -> Reply {
        try await rpc().call(command, timeout: timeout)
    }

    private func rpc() async throws -> RPCClient {
        let task = rpcClient.withLock { client in
            if let client { return client }
            let task = Task { try await RPCClient.start(messaging: self) }
            client = task
            return task
        }
        do {
            return try await task.value
        } catch {
            rpcClient.withLock { client in if client == task { client = nil } }
            throw error
        }
    }

    /// Starts consuming the commands queue. Bodies that are not valid commands are dead-lettered with their reason
    /// (see ``deadLetter(_:reason:)``), answered if they asked for a reply, logged, and skipped.
    ///
    /// - Parameter prefetch: how many commands the broker may send ahead (the worker's free capacity).
    public func commands(prefetch: UInt16) async throws -> CommandStream {
        CommandStream(
            consumer: try await connection.consume(
                queue: topology.commandsQueue, prefetch: prefetch, maxBodySize: limits.rejectedUncopied),
            messaging: self)
    }

    /// Sends remote partitions to the partitions queue, each a persistent `partition` message carrying the current
    /// trace context, all in one hand-over to the connection; returns once the broker confirmed them all.
    ///
    /// - Throws: ``AMQPError``; ``AMQPError/Code/publishReturned`` when the partitions queue does not exist.
    public func sendPartitions(_ partitions: [Command]) async throws {
        var properties = Self.jsonProperties()
        MessageTraceContext.inject(into: &properties.headers, using: instrument)
        let outcomes = await connection.publish(
            partitions.map { partition in
                AMQPPublication(
                    AMQPMessage(body: partition.body, properties: properties), exchange: "",
                    routingKey: topology.partitionsQueue, mandatory: true)
            })
        if let failure = outcomes.lazy.compactMap({ $0 }).first { throw failure }
    }

    /// Starts consuming the partitions queue (every worker, beside the commands).
    ///
    /// - Parameter prefetch: how many partitions the broker may send ahead (the worker's capacity).
    public func partitions(prefetch: UInt16) async throws -> CommandStream {
        CommandStream(
            consumer: try await connection.consume(
                queue: topology.partitionsQueue, prefetch: prefetch, maxBodySize: limits.rejectedUncopied),
            messaging: self)
    }

    /// Answers a command that asked for a reply (has `reply_to`); does nothing otherwise.
    ///
    /// - Throws: ``AMQPError`` when the publish fails.
    public func reply(_ reply: Reply, to delivery: AMQPDelivery) async throws {
        guard let replyTo = delivery.properties.replyTo, !replyTo.isEmpty else { return }
        // A message does not get to drop replies into the framework's own queues (where they would be taken for
        // commands and dead-lettered): it may only name a queue of its own.
        guard !topology.ownQueues.contains(replyTo) else {
            logger.warning(
                "not replying to a command whose reply_to names a queue of the framework",
                metadata: [
                    "amqp.reply_to": "\(replyTo)"
                ])
            return
        }
        try await connection.publish(
            AMQPMessage(
                body: reply.body,
                properties: Self.jsonProperties(correlationID: delivery.properties.correlationID, persistent: false)),
            exchange: "", routingKey: replyTo)
    }

    /// Moves a delivery to the dead-letter queue with `reason` in its `x-batch-reason` header.
    ///
    /// A plain `basic.reject` (no requeue) dead-letters through the queue's `x-dead-letter-exchange`, but the broker
    /// only records `x-death` (reason "rejected"), and a reject cannot add headers. So the message is republished,
    /// body unchanged, properties as ``AMQPProperties/republishable()`` keeps them, plus `x-batch-reason`, `x-batch-original-queue`, an id
    /// (`x-batch-dead-letter-id`) and the time (`x-batch-dead-lettered-at`), to the dead-letter exchange with the dead-letter queue's routing key, and the
    /// original is acked only once the broker has confirmed the copy: the reason is always there. Should this process
    /// die between the confirm and the ack, the command is delivered again, fails again, and the dead queue holds it
    /// twice, which is harmless. Should the republish fail, the original is rejected without requeue instead, so it
    /// still dead-letters (with `x-death`, and the reason in the log).
    ///
    /// - Throws: ``AMQPError`` when both the republish and the reject failed.
    public func deadLetter(_ delivery: AMQPDelivery, reason: String) async throws {
        var properties = delivery.properties.republishable()
        properties.headers[Self.deadLetterReasonHeader] = .string(reason.utf8Prefix(4096))
        properties.headers[Self.deadLetterOriginalQueueHeader] = .string(delivery.queue)
        properties.headers[Self.deadLetterIDHeader] = .string(UUID().uuidString.lowercased())
        properties.headers[Self.deadLetteredAtHeader] = .timestamp(UInt64(Date().timeIntervalSince1970))
        try await republish(
            delivery, properties: properties, exchange: topology.deadLetterExchange,
            routingKey: topology.deadLetterQueue,
            failure: "could not republish a message to the dead-letter queue; rejecting it instead",
            metadata: ["amqp.reason": "\(reason)"]
        ) { delivery, _ in try delivery.reject(requeue: false) }
    }

    /// Publishes a persistent copy of `delivery` with `properties` (mandatory) and acks the delivery once the broker
    /// has confirmed the copy. Should that fail, logs `failure` and settles the delivery with `fallback` (given the
    /// error) instead, unless it is settled already.
    ///
    /// - Throws: what `fallback` throws.
    func republish(
        _ delivery: AMQPDelivery, properties: AMQPProperties, exchange: String, routingKey: String,
        failure: Logger.Message, metadata: Logger.Metadata = [:], fallback: (AMQPDelivery, any Error) throws -> Void
    ) async throws {
        var properties = properties
        properties.persistent = true
        do {
            try await connection.publish(
                AMQPMessage(body: delivery.body, properties: properties), exchange: exchange, routingKey: routingKey,
                mandatory: true)
            try delivery.ack()
        } catch {
            logger.error(failure, metadata: metadata.merging(["error": "\(error)"]) { $1 })
            if !delivery.isSettled { try fallback(delivery, error) }
        }
    }

    /// The header naming a dead-lettered message, so that one can be picked out to requeue.
    public static let deadLetterIDHeader = "x-batch-dead-letter-id"
    /// The header saying why a message was dead-lettered.
    static let deadLetterReasonHeader = "x-batch-reason"
    /// The header naming the queue a dead-lettered message came from.
    static let deadLetterOriginalQueueHeader = "x-batch-original-queue"
    /// The header recording when a worker dead-lettered the message (an AMQP timestamp, seconds).
    static let deadLetteredAtHeader = "x-batch-dead-lettered-at"

    // MARK: - Control

    /// Sends a command to every worker at once over the control exchange (a stop, so that the worker running the
    /// execution learns of it immediately).
    public func broadcast(_ command: Command) async throws {
        try await connection.publish(
            AMQPMessage(body: command.body, properties: Self.jsonProperties(persistent: false)),
            exchange: topology.controlExchange, routingKey: "")
    }

    /// Declares this worker's exclusive control queue, bound to the control exchange, and consumes it.
    ///
    /// - Parameter workerID: the worker's id; the queue is `<prefix>.control.<workerID>`.
    public func controlCommands(workerID: String) async throws -> CommandStream {
        try await connection.declare(topology.controlDeclarations(workerID: workerID))
        let consumer = try await connection.consume(queue: topology.controlQueue(workerID: workerID), prefetch: 16)
        return CommandStream(consumer: consumer, messaging: self)
    }

    // MARK: - Events

    /// Publishes an event to the events exchange with routing key `job.<name>.<STATUS>`; returns once confirmed.
    public func publish(_ event: Event) async throws {
        try await connection.publish(
            AMQPMessage(body: event.body, properties: Self.jsonProperties()), exchange: topology.eventsExchange,
            routingKey: event.routingKey)
    }

    /// Publishes `events` in order and returns once the broker has confirmed or refused each: one hand-over to the
    /// connection for the whole batch.
    ///
    /// - Returns: for each event, in order, `nil` when it was confirmed, else why not.
    public func publish(_ events: [Event]) async -> [(any Error)?] {
        let properties = Self.jsonProperties()
        return await connection.publish(
            events.map { event in
                AMQPPublication(
                    AMQPMessage(body: event.body, properties: properties), exchange: topology.eventsExchange,
                    routingKey: event.routingKey)
            })
    }

    /// Subscribes to events through a queue of this process's own (exclusive, auto-delete) bound with `bindingKey`.
    ///
    /// - Parameter bindingKey: a topic pattern: `job.#` for all, `job.daily-accounting.*`, `job.*.FAILED`.
    public func events(matching bindingKey: String = "job.#") async throws -> EventStream {
        let queue = "\(topology.prefix).events.\(UUID().uuidString.lowercased())"
        try await connection.declare([
            .queue(queue, durable: false, exclusive: true, autoDelete: true),
            .bind(queue, to: topology.eventsExchange, routingKey: bindingKey),
        ])
        return EventStream(consumer: try await connection.consume(queue: queue, prefetch: 64), messaging: self)
    }
}
