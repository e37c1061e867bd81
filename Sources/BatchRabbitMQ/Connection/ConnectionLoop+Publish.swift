import CRabbitMQ

/// The publishing channel's confirm bookkeeping. I/O thread only.
struct PublisherState {
    /// Whether channel 2 is open and in confirm mode.
    var channelOpen = false
    /// The delivery tag the broker will give the next message (confirm mode numbers them from 1 per channel).
    var nextSequence: UInt64 = 1
    /// The lowest tag that may still be unconfirmed.
    var lowestUnconfirmed: UInt64 = 1
    /// Sent and not yet confirmed, by delivery tag.
    var unconfirmed: [UInt64: PendingPublish] = [:]
    /// Waiting for a connection, in order.
    var waiting: [PendingPublish] = []
}

// Publishing with confirms: rabbitmq-c 0.11 has no `amqp_publisher_confirm_wait`, so the loop reads basic.ack,
// basic.nack and basic.return itself (see `handle(frame:)`) and settles the waiting publishes here.
extension ConnectionLoop {
    /// Sends a message on the confirm channel; the publish completes when its confirm arrives.
    func send(_ pending: PendingPublish, retrying: Bool = false) {
        guard let state = connection else {
            publisher.waiting.append(pending)
            return
        }
        if !publisher.channelOpen {
            do {
                try openChannel(publishChannel)
                amqp_confirm_select(state, publishChannel)
                try checkReply("selecting confirm mode", channel: publishChannel)
                publisher.channelOpen = true
                publisher.nextSequence = 1
                publisher.lowestUnconfirmed = 1
            } catch {
                if connection == nil { publisher.waiting.append(pending) } else { pending.fail(error) }
                return
            }
        }
        let sequence = publisher.nextSequence
        let status = CArena.with { arena -> Int32 in
            var properties = arena.basicProperties(pending.message.properties)
            return pending.message.body.withUnsafeBytes { body in
                amqp_basic_publish(
                    state, publishChannel, arena.bytes(pending.exchange), arena.bytes(pending.routingKey),
                    pending.mandatory ? 1 : 0, 0, &properties,
                    amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
            }
        }
        switch status {
        case AMQP_STATUS_OK.rawValue:
            publisher.nextSequence += 1
            publisher.unconfirmed[sequence] = pending
        case AMQP_STATUS_TABLE_TOO_BIG.rawValue, AMQP_STATUS_INVALID_PARAMETER.rawValue, AMQP_STATUS_NO_MEMORY.rawValue:
            pending.fail(AMQPError(.protocolError, "cannot publish the message: \(Self.describe(status: status))"))
        case AMQP_STATUS_UNEXPECTED_STATE.rawValue where !retrying:
            // A close is waiting in the frame queue: handle what is queued, then try once more.
            drainQueuedFrames()
            send(pending, retrying: true)
        default:
            publisher.waiting.append(pending)
            connectionLost("publishing failed: \(Self.describe(status: status))")
        }
    }

    private func drainQueuedFrames() {
        while let state = connection, amqp_frames_enqueued(state) != 0 {
            var frame = amqp_frame_t()
            guard amqp_simple_wait_frame(state, &frame) == AMQP_STATUS_OK.rawValue else {
                connectionLost("reading a queued frame failed")
                return
            }
            handle(frame: frame)
        }
    }

    /// basic.ack (`acknowledged`) or basic.nack for `deliveryTag` (and all before it when `multiple`).
    func confirm(deliveryTag: UInt64, multiple: Bool, acknowledged: Bool) {
        func settle(_ pending: PendingPublish) {
            if !acknowledged {
                pending.fail(
                    AMQPError(
                        .publishNacked,
                        "the broker refused the message for exchange '\(pending.exchange)' with routing key"
                            + " '\(pending.routingKey)' (basic.nack); publish it again"))
            } else if let returned = pending.returned {
                pending.fail(
                    AMQPError(
                        .publishReturned,
                        "no queue took the message for exchange '\(pending.exchange)' with routing key"
                            + " '\(pending.routingKey)': \(returned.code) \(returned.text)",
                        replyCode: returned.code))
            } else {
                pending.succeed()
            }
        }
        if multiple {
            var tag = publisher.lowestUnconfirmed
            while tag <= deliveryTag {
                if let pending = publisher.unconfirmed.removeValue(forKey: tag) { settle(pending) }
                tag += 1
            }
            publisher.lowestUnconfirmed = max(publisher.lowestUnconfirmed, deliveryTag + 1)
        } else if let pending = publisher.unconfirmed.removeValue(forKey: deliveryTag) {
            settle(pending)
        }
        while publisher.lowestUnconfirmed < publisher.nextSequence
            && publisher.unconfirmed[publisher.lowestUnconfirmed] == nil
        {
            publisher.lowestUnconfirmed += 1
        }
    }

    /// basic.return carries no delivery tag. The broker sends it before the confirm of the same message, so the
    /// returned message is the oldest unconfirmed mandatory one for the same exchange and routing key (an older one
    /// with the same destination would have been returned as well, and already marked).
    func markReturned(exchange: String, routingKey: String, code: Int, text: String) {
        let candidate = publisher.unconfirmed
            .filter { $0.value.mandatory && $0.value.returned == nil }
            .filter { $0.value.exchange == exchange && $0.value.routingKey == routingKey }
            .min { $0.key < $1.key }
        candidate?.value.returned = (code, text)
    }

    /// The connection broke: every unconfirmed message will be sent again, in order, after the reconnect (so a
    /// consumer may see one twice: delivery is at least once).
    func publisherConnectionLost() {
        let resend = publisher.unconfirmed.sorted { $0.key < $1.key }.map(\.value)
        for pending in resend { pending.returned = nil }
        publisher.unconfirmed.removeAll()
        publisher.waiting = resend + publisher.waiting
        publisher.channelOpen = false
    }

    /// The broker closed the publishing channel (for example: a publish to an exchange that does not exist). The
    /// broker names no message, so every unconfirmed one fails with the broker's reason.
    func publisherChannelClosed(_ error: AMQPError) {
        let failed = publisher.unconfirmed.sorted { $0.key < $1.key }.map(\.value)
        publisher.unconfirmed.removeAll()
        publisher.channelOpen = false
        for pending in failed { pending.fail(error) }
    }

    func failAllPublishes(_ error: AMQPError) {
        let failed = publisher.unconfirmed.sorted { $0.key < $1.key }.map(\.value) + publisher.waiting
        publisher.unconfirmed.removeAll()
        publisher.waiting.removeAll()
        for pending in failed { pending.fail(error) }
    }
}
