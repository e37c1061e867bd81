import Batch
import BatchRabbitMQ
import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle

extension APIHandlers {
    /// `GET /api/events?job=`: server-sent events from the events exchange — `event: status` for a state change,
    /// `event: progress` for a running step's progress — with a keep-alive comment every `keepAlive`. The
    /// subscription's queue (exclusive, auto-delete) is deleted as soon as the client is gone.
    func events(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let job = try APIQuery.text(request, "job")
        guard streams.take() else {
            throw APIError(
                .serviceUnavailable, "too many event streams are open (at most \(streams.limit)); try again later")
        }
        let subscription: EventSubscription
        do {
            subscription = try await EventSubscription.open(messaging, job: job)
        } catch let error as AMQPError {
            streams.give()
            throw APIError(.serviceUnavailable, "the broker cannot be reached: \(error)")
        } catch {
            streams.give()
            throw error
        }
        // From here the slot and the queue belong to the lease: the body gives them back when the stream ends, and
        // the lease itself if the body never runs.
        let lease = EventStreamLease(subscription: subscription, slots: streams)
        logger.debug("event stream opened", metadata: ["queue": "\(subscription.queue)", "job": "\(job ?? "*")"])
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        let keepAlive = keepAlive
        let logger = logger
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                let (frames, continuation) = AsyncStream.makeStream(
                    of: String.self, bufferingPolicy: .bufferingNewest(256))
                let subscription = lease.subscription
                let feeder = Task {
                    do {
                        for try await delivery in subscription.consumer {
                            try? delivery.ack()
                            if let frame = subscription.frame(delivery) { continuation.yield(frame) }
                        }
                    } catch {
                        logger.debug("event subscription ended", metadata: ["error": "\(error)"])
                    }
                    continuation.finish()
                }
                let ticker = Task {
                    while !Task.isCancelled {
                        try await Task.sleep(for: keepAlive)
                        continuation.yield(": keep-alive\n\n")
                    }
                }
                // A graceful shutdown (SIGTERM) ends the stream, so the server does not wait for its clients.
                await withGracefulShutdownHandler {
                    do {
                        try await writer.write(ByteBuffer(string: ": connected\n\n"))
                        for await frame in frames {
                            try await writer.write(ByteBuffer(string: frame))
                        }
                        try await writer.finish(nil)
                    } catch {
                        // The client went away: the write failed. Nothing to answer.
                    }
                } onGracefulShutdown: {
                    continuation.finish()
                }
                ticker.cancel()
                feeder.cancel()
                await lease.release()
                logger.debug("event stream closed", metadata: ["queue": "\(subscription.queue)"])
            })
    }
}

/// One client's subscription to the events exchange: its own queue, bound for all jobs or one.
struct EventSubscription: Sendable {
    let messaging: BatchMessaging
    let queue: String
    let consumer: AMQPConsumer
    let job: String?

    /// Declares the client's queue, binds it (state changes `job.<name>.*` and progress `progress.<name>`, or all
    /// of both) and consumes it.
    static func open(_ messaging: BatchMessaging, job: String?) async throws -> EventSubscription {
        let queue = "\(messaging.topology.prefix).events.http.\(UUID().uuidString.lowercased())"
        // A name that is not one topic word (a dot, `*` or `#` in it), or longer than a job's name may be (then too
        // long for a routing key), is bound as all and filtered here.
        let word = job.flatMap {
            $0.contains(where: { ".*#".contains($0) }) || $0.utf8.count > Job.maxNameLength ? nil : $0
        }
        let keys = word.map { ["job.\($0).*", "progress.\($0)"] } ?? ["job.#", "progress.#"]
        try await messaging.connection.declare(
            [.queue(queue, durable: false, exclusive: true, autoDelete: true)]
                + keys.map { .bind(queue, to: messaging.topology.eventsExchange, routingKey: $0) },
            redeclareOnReconnect: false)
        let consumer = try await messaging.connection.consume(queue: queue, prefetch: 64)
        return EventSubscription(messaging: messaging, queue: queue, consumer: consumer, job: job)
    }

    /// The SSE frame of a delivery, or `nil` when it is not this client's or not valid JSON.
    func frame(_ delivery: AMQPDelivery) -> String? {
        let kind: String
        if delivery.routingKey.hasPrefix("progress.") {
            kind = "progress"
        } else if delivery.routingKey.hasPrefix("job.") {
            kind = "status"
        } else {
            return nil
        }
        guard delivery.body.count <= messaging.limits.maximumBodySize,
            let value = try? JSONValue(parsing: delivery.body), case .object(let fields) = value
        else { return nil }
        if let job, fields["jobName"]?.stringValue != job { return nil }
        // Re-serialized: one line, whatever the publisher sent, so it cannot break the stream's framing.
        return "event: \(kind)\ndata: \(value.canonicalJSON)\n\n"
    }

    /// Cancels the consumer and deletes the queue (auto-delete would too; this does not wait for it).
    func close() async {
        try? await consumer.cancel()
        try? await messaging.connection.deleteQueue(queue)
    }
}
