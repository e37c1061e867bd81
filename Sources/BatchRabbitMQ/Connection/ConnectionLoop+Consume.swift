import CRabbitMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// Consumers: one channel each, with its prefetch; deliveries, settlements, pause, resume, cancel and recovery.
// All on the I/O thread.
extension ConnectionLoop {
    /// Opens a channel for a new consumer and starts consuming.
    func addConsumer(
        queue: String, tag: String, prefetch: UInt16, exclusive: Bool, buffer: DeliveryBuffer, maxBodySize: Int?
    ) throws
        -> UInt16
    {
        guard
            let channel = channels.add(
                queue: queue, tag: tag, prefetch: prefetch, exclusive: exclusive, buffer: buffer,
                maxBodySize: maxBodySize)
        else {
            throw AMQPError(.protocolError, "no free channel on this connection for another consumer")
        }
        do {
            try startConsumer(channel)
        } catch {
            if let state = connection, channels[channel]?.channelOpen == true {
                _ = amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS)
            }
            channels.remove(channel)
            throw error
        }
        logger.debug("consuming", metadata: ["amqp.queue": "\(queue)", "amqp.channel": "\(channel)"])
        return channel
    }

    /// Opens the consumer's channel if needed and sends basic.consume unless it is paused.
    func startConsumer(_ channel: UInt16) throws {
        while true {
            guard let state = connection else {
                throw AMQPError(.connectionLost, "the connection is being re-established")
            }
            switch channels.nextStartStep(channel) {
            case .openChannel(let prefetch):
                try openChannel(channel)
                amqp_basic_qos(state, channel, 0, prefetch, 0)
                try checkReply("setting the prefetch of channel \(channel)", channel: channel)
                channels.channelOpened(channel)
            case .consume(let queue, let tag, let exclusive):
                _ = CArena.with { arena in
                    amqp_basic_consume(
                        state, channel, arena.bytes(queue), arena.bytes(tag), 0, 0, exclusive ? 1 : 0,
                        amqp_empty_table)
                }
                try checkReply("consuming from queue '\(queue)'", channel: channel)
                channels.consumeStarted(channel)
            case .done:
                channels.started(channel)
                return
            }
        }
    }

    func scheduleRetry(_ channel: UInt16, because error: any Error) {
        var random = SystemRandomNumberGenerator()
        guard let delay = channels.scheduleRetry(channel, now: .now, backoff: reconnection.backoff, using: &random)
        else { return }
        logger.warning(
            "consumer stopped; consuming again soon",
            metadata: [
                "amqp.queue": "\(channels[channel]?.queue ?? "")", "error": "\(error)", "amqp.retry.delay": "\(delay)",
            ])
    }

    /// Consumers the broker cancelled or whose channel it closed try again when their time comes.
    func retryDueConsumers() {
        let now = ContinuousClock.now
        for channel in channels.dueRetries(at: now) {
            guard connection != nil else { return }
            // An earlier retry in this pass may have changed this one (a redeclare, a lost connection).
            guard let record = channels[channel], let retryAt = record.retryAt, retryAt <= now else { continue }
            do {
                if record.needsRedeclare { try replayDeclarations() }
                try startConsumer(channel)
                logger.info("consuming again", metadata: ["amqp.queue": "\(record.queue)"])
            } catch {
                if connection == nil { return }
                if channels[channel]?.retryAt.map({ $0 <= now }) ?? true { scheduleRetry(channel, because: error) }
            }
        }
    }

    /// The broker cancelled a consumer (its queue was deleted, for example): redeclare and consume again.
    func serverCancelled(consumerTag: String) {
        guard let channel = channels.serverCancelled(tag: consumerTag) else { return }
        scheduleRetry(channel, because: AMQPError(.channelClosed, "the broker cancelled the consumer"))
    }

    /// A delivery arrived: hand it to its consumer, put it back if the consumer is paused or cancelled, or drop it
    /// if its channel closed since (``ChannelTable/DeliveryRoute``; librabbitmq keeps what arrives while it waits
    /// for a close's answer).
    func deliver(_ envelope: amqp_envelope_t) {
        guard let state = connection else { return }
        let channel = envelope.channel
        let record: ConsumerRecord
        switch channels.route(deliveryOn: channel, isTag: { Self.same($0, envelope.consumer_tag) }) {
        case .consumer(let target):
            record = target
        case .requeue:
            if amqp_basic_reject(state, channel, envelope.delivery_tag, 1) != AMQP_STATUS_OK.rawValue {
                connectionLost("requeueing a delivery failed")
            }
            return
        case .drop:
            return
        }
        if let limit = record.maxBodySize, envelope.message.body.len > limit {
            // Not copied, not buffered: a prefetch of huge bodies would otherwise sit in memory. The queue's
            // dead-letter exchange, if it has one, takes it (its `x-death` says "rejected").
            logger.warning(
                "rejecting a delivery over the consumer's body limit",
                metadata: [
                    "amqp.queue": "\(record.queue)", "amqp.bytes": "\(envelope.message.body.len)",
                    "amqp.limit": "\(limit)",
                ])
            if amqp_basic_reject(state, channel, envelope.delivery_tag, 0) != AMQP_STATUS_OK.rawValue {
                connectionLost("rejecting an oversized delivery failed")
            }
            return
        }
        let delivery = AMQPDelivery(
            message: AMQPMessage(
                body: [UInt8](amqpBytes: envelope.message.body),
                properties: AMQPProperties(copying: envelope.message.properties)),
            exchange: String(amqpBytes: envelope.exchange),
            routingKey: String(amqpBytes: envelope.routing_key),
            deliveryTag: envelope.delivery_tag,
            isRedelivered: envelope.redelivered != 0,
            consumerTag: record.tag,
            queue: record.queue,
            settler: DeliverySettler(inbox: inbox, channel: channel, epoch: record.epoch))
        record.buffer.push(delivery)
    }

    /// Whether the consumer tag librabbitmq read is `tag`.
    private static func same(_ tag: String, _ bytes: amqp_bytes_t) -> Bool {
        var tag = tag
        return tag.withUTF8 { utf8 in
            utf8.count == bytes.len && (utf8.isEmpty || memcmp(utf8.baseAddress!, bytes.bytes, bytes.len) == 0)
        }
    }

    /// Sends an ack, nack or reject, unless the delivery's channel has been closed since (then the broker has
    /// requeued the message already, and the settlement is dropped).
    func settle(channel: UInt16, epoch: UInt64, deliveryTag: UInt64, settlement: Settlement) {
        guard let state = connection, channels.acceptsSettlement(channel: channel, epoch: epoch) else {
            logger.debug(
                "dropping the settlement of a delivery from a closed channel", metadata: ["amqp.tag": "\(deliveryTag)"])
            return
        }
        let status: Int32
        switch settlement {
        case .ack: status = amqp_basic_ack(state, channel, deliveryTag, 0)
        case .nack(let requeue): status = amqp_basic_nack(state, channel, deliveryTag, 0, requeue ? 1 : 0)
        case .reject(let requeue): status = amqp_basic_reject(state, channel, deliveryTag, requeue ? 1 : 0)
        }
        if status != AMQP_STATUS_OK.rawValue {
            connectionLost("settling a delivery failed: \(Self.describe(status: status))")
        }
    }

    /// Stops consuming (basic.cancel) and requeues every delivery the application has not taken yet.
    func pause(channel: UInt16) throws {
        guard channels.pause(channel) != nil else { return }
        try cancelAndRequeue(channel)
    }

    /// Consumes again after ``pause(channel:)``.
    func resume(channel: UInt16) throws {
        guard channels.resume(channel) else { return }
        if connection != nil { try startConsumer(channel) }
    }

    /// Stops consuming for good; the channel stays open so that deliveries the application holds can be settled.
    func cancel(channel: UInt16) throws {
        guard let record = channels.cancel(channel) else { return }
        defer { record.buffer.finish() }
        try cancelAndRequeue(channel)
    }

    /// Cancels and closes the channel: the broker requeues every unacked delivery of this consumer.
    func close(channel: UInt16) throws {
        guard let record = channels.close(channel) else { return }
        record.buffer.finish()
        if let state = connection, record.channelOpen {
            let reply = amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS)
            try check(reply, context: "closing channel \(channel)", channel: channel)
        }
    }

    private func cancelAndRequeue(_ channel: UInt16) throws {
        guard let record = channels[channel] else { return }
        if let state = connection, record.consuming {
            CArena.with { arena in _ = amqp_basic_cancel(state, channel, arena.bytes(record.tag)) }
            channels.consumeCancelled(channel)
            try checkReply("cancelling the consumer of queue '\(record.queue)'", channel: channel)
        }
        guard let epoch = channels[channel]?.epoch else { return }
        for delivery in record.buffer.drain() where delivery.settler.epoch == epoch {
            guard let state = connection, channels[channel]?.channelOpen == true, delivery.settler.claim() else {
                continue
            }
            if amqp_basic_reject(state, channel, delivery.deliveryTag, 1) != AMQP_STATUS_OK.rawValue {
                connectionLost("requeueing a delivery failed")
                return
            }
        }
    }
}
