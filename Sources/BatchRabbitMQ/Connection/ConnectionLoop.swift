import Batch
import CRabbitMQ
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The I/O thread of one connection: it owns the `amqp_connection_state_t` and makes every librabbitmq call.
///
/// rabbitmq-c's connection state is not thread-safe (a connection and its channels must be used from one
/// thread at a time), so exactly one thread, started by ``start``,
/// touches it. That thread loops: take the operations other threads queued in the ``LoopInbox`` (publishes, acks,
/// declarations, ...), then wait on `poll` for the broker's socket or the wake-up pipe and read what arrived with
/// `amqp_consume_message` (a tiny timeout: it never blocks, and each call also sends heartbeats when they are due).
/// Deliveries go to their consumer's buffer; confirms, returns, cancels and closes are handled here.
///
/// Not `Sendable`, and it need not be: the I/O thread creates it and alone holds it (the `LoopTask` closures receive
/// it there). The logic lives in values, ``ConfirmTracker``, ``ChannelTable`` and ``ReconnectPlan``, unit-tested
/// without a broker; this class performs the I/O their transitions call for.
final class ConnectionLoop {
    /// The queue other threads hand work through.
    let inbox: LoopInbox
    var configuration: AMQPConfiguration { inbox.configuration }
    var logger: Logger { inbox.logger }

    /// The live connection, or `nil` while it is being re-established.
    var connection: amqp_connection_state_t?
    /// Who waits for the close; `nil` until a close is asked for.
    private var closeWaiters: [CheckedContinuation<Void, Never>]?
    /// Tasks waiting for a connection.
    var deferredTasks: [LoopTask] = []
    private var lastFrameService = ContinuousClock.now
    /// The publishing channel's confirms.
    var publisher = ConfirmTracker<PendingPublish>()
    /// The control channel and the consumers' channels.
    var channels = ChannelTable()
    /// When to reconnect, and what to declare again then.
    var reconnection: ReconnectPlan
    /// Whether the socket is corked (see `cork(_:)`).
    private(set) var isCorked = false

    /// Channel 1 carries declarations and other synchronous requests.
    let controlChannel: UInt16 = 1
    /// Channel 2 publishes, in confirm mode. Consumers get channels 3 and up, one each.
    let publishChannel: UInt16 = 2

    private init(inbox: LoopInbox) {
        self.inbox = inbox
        self.reconnection = ReconnectPlan(backoff: Backoff(inbox.configuration.reconnect))
    }

    private var closing: Bool { closeWaiters != nil }

    /// Starts the I/O thread and waits for the first connection.
    ///
    /// - Returns: the inbox through which the connection is used.
    /// - Throws: ``AMQPError`` when the first connection fails; the thread has ended then.
    static func start(configuration: AMQPConfiguration, logger: Logger) async throws -> LoopInbox {
        let inbox = try LoopInbox(configuration: configuration, logger: logger)
        try await withCheckedThrowingContinuation { (started: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                nameCurrentThread("amqp-io")
                ConnectionLoop(inbox: inbox).run(started: started)
            }
            thread.name = "amqp-io"
            // librabbitmq decodes a message's header tables recursively on this thread: give it room.
            thread.stackSize = 8 << 20
            thread.start()
        }
        return inbox
    }

    // MARK: - The loop

    private func run(started: CheckedContinuation<Void, any Error>) {
        do {
            try establish()
        } catch {
            _ = inbox.close()
            started.resume(throwing: error)
            return
        }
        started.resume()
        var taken: [LoopOperation] = []
        while !closing {
            inbox.take(into: &taken)
            handle(taken)
            taken.removeAll(keepingCapacity: true)
            if closing { break }
            if connection == nil {
                if reconnection.isDue(at: .now) {
                    reconnect()
                } else {
                    waitForWakeup(until: reconnection.nextAttempt)
                }
                continue
            }
            retryDueConsumers()
            if connection != nil { pumpFrames() }
        }
        shutdown()
    }

    /// Handles what the inbox held, in order. A run of publishes and settlements goes out corked (`TCP_CORK`):
    /// their frames leave in as few packets as fit, one wake-up of the broker for the run instead of one per
    /// message; whatever may wait for a reply (declarations, opening the publish channel) runs uncorked, so that
    /// its request is not held back.
    private func handle(_ operations: [LoopOperation]) {
        for operation in operations {
            let batched: Bool
            switch operation {
            case .publish: batched = operations.count > 1 && publisher.channelOpen
            case .settle: batched = operations.count > 1
            case .task, .close: batched = false
            }
            cork(batched)
            handle(operation)
        }
        cork(false)
    }

    /// Sets or clears `TCP_CORK` on the connection's socket (clearing it sends what it held); ``isCorked`` says
    /// which. Opening a channel clears it too (``openChannel(_:)``), as a request waiting for its reply must not be
    /// held back.
    func cork(_ on: Bool) {
        guard on != isCorked else { return }
        guard let state = connection else {
            isCorked = false
            return
        }
        let socket = amqp_get_sockfd(state)
        var value: Int32 = on ? 1 : 0
        let set =
            socket >= 0
            && setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
        isCorked = on && set
    }

    private func handle(_ operation: LoopOperation) {
        switch operation {
        case .publish(let pending):
            if closing {
                pending.fail(AMQPError(.closed, "the connection was closed before the message was sent"))
            } else {
                send(pending)
            }
        case .settle(let channel, let epoch, let tag, let settlement):
            settle(channel: channel, epoch: epoch, deliveryTag: tag, settlement: settlement)
        case .task(let task):
            if closing {
                task.fail(AMQPError(.closed, "the connection is closed"))
            } else if task.requiresConnection && connection == nil {
                deferredTasks.append(task)
            } else {
                task.run(self)
            }
        case .close(let waiter):
            closeWaiters = (closeWaiters ?? []) + (waiter.map { [$0] } ?? [])
        }
    }

    /// Waits for the broker's socket or the wake-up pipe, then reads what frames arrived (a bounded number, so that
    /// queued operations are not starved).
    private func pumpFrames() {
        guard let state = connection else { return }
        if amqp_frames_enqueued(state) == 0 && amqp_data_in_buffer(state) == 0 {
            var descriptors = (
                pollfd(fd: amqp_get_sockfd(state), events: Int16(POLLIN), revents: 0),
                pollfd(fd: inbox.wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)
            )
            let ready = withUnsafeMutableBytes(of: &descriptors) { raw in
                poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, pollTimeoutMilliseconds())
            }
            if descriptors.1.revents != 0 { inbox.wakeup.drain() }
            let socketReady = ready > 0 && descriptors.0.revents != 0
            // Even with nothing to read, call into the library now and then: heartbeats are sent from there. (With
            // TLS, OpenSSL may hold decrypted bytes the socket no longer shows, so read whenever awake.)
            if !socketReady && configuration.tls == nil && lastFrameService.duration(to: .now) < .milliseconds(500) {
                return
            }
        }
        lastFrameService = .now
        for _ in 0..<64 {
            guard readFrame() else { return }
        }
    }

    private func pollTimeoutMilliseconds() -> Int32 {
        var timeout: Duration = .milliseconds(250)
        if let retryAt = channels.earliestRetry {
            timeout = min(timeout, max(.zero, ContinuousClock.now.duration(to: retryAt)))
        }
        return Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
    }

    private func waitForWakeup(until deadline: ContinuousClock.Instant) {
        let remaining = max(.zero, ContinuousClock.now.duration(to: deadline))
        let milliseconds =
            Int32(min(remaining, .milliseconds(250)).components.attoseconds / 1_000_000_000_000_000)
            + Int32(min(remaining, .milliseconds(250)).components.seconds * 1000)
        var descriptor = pollfd(fd: inbox.wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, max(milliseconds, 1)) > 0 { inbox.wakeup.drain() }
    }

    /// Reads one frame if one is there. Returns `false` when nothing was there or the connection was lost.
    private func readFrame() -> Bool {
        guard let state = connection else { return false }
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        // Not zero: librabbitmq only notices a missed broker heartbeat when its own deadline is earlier than ours,
        // which an "immediate" (all-zero) timeout never is.
        var timeout = timeval(tv_sec: 0, tv_usec: 1)
        let reply = amqp_consume_message(state, &envelope, &timeout, 0)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            deliver(envelope)
            amqp_destroy_envelope(&envelope)
            return true
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
            return false
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
            // Not a delivery: librabbitmq put the frame back; take it and handle it here.
            var frame = amqp_frame_t()
            let status = amqp_simple_wait_frame(state, &frame)
            guard status == AMQP_STATUS_OK.rawValue else {
                connectionLost("reading a frame failed: \(Self.describe(status: status))")
                return false
            }
            handle(frame: frame)
            return connection != nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            connectionLost("reading from the broker failed: \(Self.describe(status: reply.library_error))")
            return false
        default:
            connectionLost("reading from the broker failed (reply type \(reply.reply_type.rawValue))")
            return false
        }
    }

    /// Handles a frame that is not a delivery: confirms, returns, cancels, closes.
    func handle(frame: amqp_frame_t) {
        guard frame.frame_type == AMQP_FRAME_METHOD, let decoded = frame.payload.method.decoded else { return }
        let channel = frame.channel
        switch frame.payload.method.id {
        case AMQP_BASIC_ACK_METHOD:
            let ack = decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            confirm(deliveryTag: ack.delivery_tag, multiple: ack.multiple != 0, acknowledged: true)
        case AMQP_BASIC_NACK_METHOD:
            let nack = decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            confirm(deliveryTag: nack.delivery_tag, multiple: nack.multiple != 0, acknowledged: false)
        case AMQP_BASIC_RETURN_METHOD:
            let returned = decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let exchange = String(amqpBytes: returned.exchange)
            let routingKey = String(amqpBytes: returned.routing_key)
            let text = String(amqpBytes: returned.reply_text)
            var message = amqp_message_t()
            let reply = amqp_read_message(connection, channel, &message, 0)
            if reply.reply_type == AMQP_RESPONSE_NORMAL {
                amqp_destroy_message(&message)
            } else {
                connectionLost("reading a returned message failed"); return
            }
            publisher.returned(exchange: exchange, routingKey: routingKey, code: Int(returned.reply_code), text: text)
        case AMQP_BASIC_CANCEL_METHOD:
            let cancel = decoded.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            serverCancelled(consumerTag: String(amqpBytes: cancel.consumer_tag))
        case AMQP_CHANNEL_CLOSE_METHOD:
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            let text = String(amqpBytes: close.reply_text)
            sendChannelCloseOk(channel)
            channelClosedByBroker(
                channel, error: .brokerRefused("channel \(channel)", replyCode: Int(close.reply_code), replyText: text))
        case AMQP_CONNECTION_CLOSE_METHOD:
            let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let text = String(amqpBytes: close.reply_text)
            sendConnectionCloseOk()
            connectionLost("the broker closed the connection: \(close.reply_code) \(text)")
        case AMQP_CONNECTION_BLOCKED_METHOD:
            let blocked = decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            logger.warning(
                "the broker blocks publishing on this connection",
                metadata: ["amqp.reason": "\(String(amqpBytes: blocked.reason))"])
        case AMQP_CONNECTION_UNBLOCKED_METHOD:
            logger.info("the broker unblocked publishing on this connection")
        default:
            logger.debug("ignoring an unexpected method", metadata: ["amqp.method": "\(frame.payload.method.id)"])
        }
    }

    // MARK: - Closing

    private func shutdown() {
        let closedError = AMQPError(.closed, "the connection was closed")
        var waiters = closeWaiters ?? []
        for operation in inbox.close() {
            switch operation {
            case .publish(let pending): pending.fail(closedError)
            case .task(let task): task.fail(closedError)
            case .settle: break
            case .close(let waiter): if let waiter { waiters.append(waiter) }
            }
        }
        for task in deferredTasks { task.fail(closedError) }
        deferredTasks.removeAll()
        for pending in publisher.closeAll() { pending.fail(closedError) }
        for record in channels.removeAll() { record.buffer.finish() }
        if let state = connection {
            _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
            amqp_destroy_connection(state)
            connection = nil
        }
        logger.debug("connection closed")
        for waiter in waiters { waiter.resume() }
    }
}
