import CRabbitMQ

// Publishing with confirms: rabbitmq-c 0.11 has no `amqp_publisher_confirm_wait`, so the loop reads basic.ack,
// basic.nack and basic.return itself (see `handle(frame:)`) and settles the publishes the ``ConfirmTracker`` hands back.
extension ConnectionLoop {
    /// Sends a message on the confirm channel; the publish completes when its confirm arrives. A message with a
    /// name or property longer than AMQP allows fails alone, before librabbitmq could take its refusal to encode it
    /// for a broken connection.
    func send(_ pending: PendingPublish, retrying: Bool = false) {
        do {
            try AMQPShortString.check(pending)
        } catch {
            pending.fail(error)
            return
        }
        guard let state = connection else {
            publisher.wait(pending)
            return
        }
        if !publisher.channelOpen {
            do {
                try openChannel(publishChannel)
                amqp_confirm_select(state, publishChannel)
                try checkReply("selecting confirm mode", channel: publishChannel)
                publisher.channelOpened()
            } catch {
                if connection == nil { publisher.wait(pending) } else { pending.fail(error) }
                return
            }
        }
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
            publisher.sent(pending)
        case AMQP_STATUS_TABLE_TOO_BIG.rawValue, AMQP_STATUS_BAD_AMQP_DATA.rawValue,
            AMQP_STATUS_INVALID_PARAMETER.rawValue, AMQP_STATUS_NO_MEMORY.rawValue:
            // The message cannot be encoded (its properties do not fit a frame, say). librabbitmq sends the
            // basic.publish frame before it encodes the properties, so that frame may be out without its header,
            // which the broker answers by closing the connection at the next frame. This message fails for good (it
            // is not sent again) and the connection starts over, the other publishes waiting for it.
            pending.fail(AMQPError(.protocolError, "cannot publish the message: \(Self.describe(status: status))"))
            connectionLost("a message could not be encoded: \(Self.describe(status: status))")
        case AMQP_STATUS_UNEXPECTED_STATE.rawValue where !retrying:
            // A close is waiting in the frame queue: handle what is queued, then try once more.
            drainQueuedFrames()
            send(pending, retrying: true)
        default:
            publisher.wait(pending)
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
        for (pending, outcome) in publisher.confirm(
            deliveryTag: deliveryTag, multiple: multiple, acknowledged: acknowledged)
        {
            switch outcome {
            case .acknowledged:
                pending.succeed()
            case .nacked:
                pending.fail(
                    AMQPError(
                        .publishNacked,
                        "the broker refused the message for exchange '\(pending.exchange)' with routing key"
                            + " '\(pending.routingKey)' (basic.nack); publish it again"))
            case .returned(let code, let text):
                pending.fail(
                    AMQPError(
                        .publishReturned,
                        "no queue took the message for exchange '\(pending.exchange)' with routing key"
                            + " '\(pending.routingKey)': \(code) \(text)",
                        replyCode: code))
            }
        }
    }
}
