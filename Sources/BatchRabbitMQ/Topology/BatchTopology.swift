import Batch

/// The queues and exchanges of the batch wire protocol under one prefix (default `batch`), and their declarations.
///
/// | entity | kind |
/// | --- | --- |
/// | `batch.commands` | durable queue, dead-lettering to `batch.dlx` with key `batch.commands.dead` |
/// | `batch.dlx` | durable direct exchange |
/// | `batch.commands.dead` | durable queue bound to `batch.dlx` |
/// | `batch.commands.retry` | durable queue nobody consumes; dead-letters back to `batch.commands` on expiry |
/// | `batch.partitions` | durable queue of remote partitions, dead-lettering as `batch.commands` |
/// | `batch.partitions.retry` | durable queue nobody consumes; dead-letters back to `batch.partitions` on expiry |
/// | `batch.control` | durable fanout exchange; each worker binds `batch.control.<worker>` (exclusive, auto-delete) |
/// | `batch.events` | durable topic exchange, routing key `job.<name>.<status>` |
public struct BatchTopology: Sendable, Hashable {
    /// The prefix of every name. Default `batch`.
    public var prefix: String

    /// Creates the topology under `prefix`.
    public init(prefix: String = "batch") {
        self.prefix = prefix
    }

    /// The queue workers take commands from: `<prefix>.commands`.
    public var commandsQueue: String { "\(prefix).commands" }
    /// The dead-letter exchange of the commands queue: `<prefix>.dlx`.
    public var deadLetterExchange: String { "\(prefix).dlx" }
    /// Where commands that can never succeed end up: `<prefix>.commands.dead`.
    public var deadLetterQueue: String { "\(prefix).commands.dead" }
    /// Where a command that met a passing failure waits before it is tried again: `<prefix>.commands.retry`.
    ///
    /// Nobody consumes it: each message carries its own `expiration` (the backoff), after which the broker
    /// dead-letters it back to ``commandsQueue``. Waiting there holds no worker slot and blocks no other command.
    public var commandsRetryQueue: String { "\(prefix).commands.retry" }
    /// The queue of remote partitions every worker takes from beside the commands: `<prefix>.partitions`, with the
    /// commands' dead-lettering.
    public var partitionsQueue: String { "\(prefix).partitions" }
    /// Where a partition message that met a passing failure waits before it returns to ``partitionsQueue``:
    /// `<prefix>.partitions.retry`.
    public var partitionsRetryQueue: String { "\(prefix).partitions.retry" }
    /// The fanout exchange that reaches every worker: `<prefix>.control`.
    public var controlExchange: String { "\(prefix).control" }
    /// The topic exchange of job execution events: `<prefix>.events`.
    public var eventsExchange: String { "\(prefix).events" }

    /// The shared queues of the framework, which no message may name as its `reply_to`.
    public var ownQueues: Set<String> {
        [commandsQueue, deadLetterQueue, commandsRetryQueue, partitionsQueue, partitionsRetryQueue]
    }

    /// The retry queue that returns messages to `queue` (the partitions' for the partitions queue, else the
    /// commands').
    public func retryQueue(for queue: String) -> String {
        queue == partitionsQueue ? partitionsRetryQueue : commandsRetryQueue
    }

    /// A worker's own control queue: `<prefix>.control.<workerID>`.
    public func controlQueue(workerID: String) -> String { "\(prefix).control.\(workerID)" }

    /// The routing key of an event: `job.<jobName>.<STATUS>`, for example `job.daily-accounting.COMPLETED`.
    public static func eventRoutingKey(jobName: String, status: BatchStatus) -> String {
        "job.\(jobName).\(status.rawValue)"
    }

    /// The routing key of a step event: `step.<jobName>.<STATUS>`.
    public static func stepEventRoutingKey(jobName: String, status: BatchStatus) -> String {
        "step.\(jobName).\(status.rawValue)"
    }

    /// The durable entities every worker and client shares, in declaration order.
    public var declarations: [AMQPDeclaration] {
        [
            .exchange(deadLetterExchange, type: .direct),
            .queue(deadLetterQueue),
            .bind(deadLetterQueue, to: deadLetterExchange, routingKey: deadLetterQueue),
            .queue(
                commandsQueue,
                arguments: [
                    "x-dead-letter-exchange": .string(deadLetterExchange),
                    "x-dead-letter-routing-key": .string(deadLetterQueue),
                ]),
            .queue(
                commandsRetryQueue,
                arguments: [
                    "x-dead-letter-exchange": .string(""),
                    "x-dead-letter-routing-key": .string(commandsQueue),
                ]),
            .queue(
                partitionsQueue,
                arguments: [
                    "x-dead-letter-exchange": .string(deadLetterExchange),
                    "x-dead-letter-routing-key": .string(deadLetterQueue),
                ]),
            .queue(
                partitionsRetryQueue,
                arguments: [
                    "x-dead-letter-exchange": .string(""),
                    "x-dead-letter-routing-key": .string(partitionsQueue),
                ]),
            .exchange(controlExchange, type: .fanout),
            .exchange(eventsExchange, type: .topic),
        ]
    }

    /// A worker's exclusive, auto-delete control queue bound to the control exchange.
    public func controlDeclarations(workerID: String) -> [AMQPDeclaration] {
        let queue = controlQueue(workerID: workerID)
        return [
            .queue(queue, durable: false, exclusive: true, autoDelete: true),
            .bind(queue, to: controlExchange),
        ]
    }
}
