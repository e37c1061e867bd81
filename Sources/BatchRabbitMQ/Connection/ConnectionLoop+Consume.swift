import CRabbitMQ

// Consumers: one channel each, with its prefetch; deliveries, settlements, pause, resume, cancel and recovery.
// All on the I/O thread.
extension ConnectionLoop {
    /// Opens a channel for a new consumer and starts consuming.
    func addConsumer(
        queue: String, tag: String, prefetch: UInt16, exclusive: Bool, buffer: DeliveryBuffer
    ) throws
        -> UInt16
    {
        guard let channel = freeChannels.popLast() ?? allocateChannel() else {
            throw AMQPError(.protocolError, "no free channel on this connection for another consumer")
        }
        let record = ConsumerRecord(
            channel: channel, queue: queue, tag: tag, prefetch: prefetch, exclusive: exclusive, buffer: buffer)
        consumers[channel] = record
        do {
            try startConsumer(record)
        } catch {
            if connection != nil && record.channelOpen, let state = connection {
                _ = amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS)
            }
            consumers[channel] = nil
            freeChannels.append(channel)
            throw error
        }
        logger.debug("consuming", metadata: ["amqp.queue": "\(queue)", "amqp.channel": "\(channel)"])
        return channel
    }

    private func allocateChannel() -> UInt16? {
        guard nextConsumerChannel < 2047 else { return nil }
        defer { nextConsumerChannel += 1 }
        return nextConsumerChannel
    }

    /// Opens the consumer's channel if needed and sends basic.consume unless it is paused.
    func startConsumer(_ record: ConsumerRecord) throws {
        guard let state = connection else { throw AMQPError(.connectionLost, "the connection is being re-established") }
        if !record.channelOpen {
            try openChannel(record.channel)
            amqp_basic_qos(state, record.channel, 0, record.prefetch, 0)
            try checkReply("setting the prefetch of channel \(record.channel)", channel: record.channel)
            record.channelOpen = true
            record.epoch = newEpoch()
        }
        if !record.paused && !record.cancelled && !record.consuming {
            _ = CArena.with { arena in
                amqp_basic_consume(
                    state, record.channel, arena.bytes(record.queue), arena.bytes(record.tag), 0, 0,
                    record.exclusive ? 1 : 0, amqp_empty_table)
            }
            try checkReply("consuming from queue '\(record.queue)'", channel: record.channel)
            record.consuming = true
        }
        record.retryAt = nil
        record.retryAttempt = 0
        record.needsRedeclare = false
    }

    func scheduleRetry(_ record: ConsumerRecord, because error: any Error) {
        let delay = configuration.reconnect.delay(attempt: record.retryAttempt)
        record.retryAttempt += 1
        record.retryAt = .now + delay
        logger.warning(
            "consumer stopped; consuming again soon",
            metadata: ["amqp.queue": "\(record.queue)", "error": "\(error)", "amqp.retry.delay": "\(delay)"])
    }

    /// Consumers the broker cancelled or whose channel it closed try again when their time comes.
    func retryDueConsumers() {
        let now = ContinuousClock.now
        for record in consumers.values {
            guard let retryAt = record.retryAt, retryAt <= now, connection != nil else { continue }
            do {
                if record.needsRedeclare { try replayDeclarations() }
                try startConsumer(record)
                logger.info("consuming again", metadata: ["amqp.queue": "\(record.queue)"])
            } catch {
                if connection == nil { return }
                if record.retryAt == nil || record.retryAt! <= now { scheduleRetry(record, because: error) }
            }
        }
    }

    /// The broker cancelled a consumer (its queue was deleted, for example): redeclare and consume again.
    func serverCancelled(consumerTag: String) {
        guard let record = consumers.values.first(where: { $0.tag == consumerTag }) else { return }
        record.consuming = false
        guard !record.cancelled && !record.paused else { return }
        record.needsRedeclare = true
        scheduleRetry(record, because: AMQPError(.channelClosed, "the broker cancelled the consumer"))
    }

    /// A delivery arrived: hand it to its consumer, or put it back if the consumer is paused or gone.
    func deliver(_ envelope: amqp_envelope_t) {
        guard let state = connection else { return }
        let channel = envelope.channel
        guard let record = consumers[channel], record.channelOpen, !record.paused, !record.cancelled else {
            if amqp_basic_reject(state, channel, envelope.delivery_tag, 1) != AMQP_STATUS_OK.rawValue {
                connectionLost("requeueing a delivery failed")
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
            settler: DeliverySettler(loop: self, channel: channel, epoch: record.epoch))
        record.buffer.push(delivery)
    }

    /// Sends an ack, nack or reject, unless the delivery's channel has been closed since (then the broker has
    /// requeued the message already, and the settlement is dropped).
    func settle(channel: UInt16, epoch: UInt64, deliveryTag: UInt64, settlement: Settlement) {
        guard let state = connection, let record = consumers[channel], record.channelOpen, record.epoch == epoch else {
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
        guard let record = consumers[channel], !record.paused else { return }
        record.paused = true
        record.retryAt = nil
        try cancelAndRequeue(record)
    }

    /// Consumes again after ``pause(channel:)``.
    func resume(channel: UInt16) throws {
        guard let record = consumers[channel], record.paused, !record.cancelled else { return }
        record.paused = false
        if connection != nil { try startConsumer(record) }
    }

    /// Stops consuming for good; the channel stays open so that deliveries the application holds can be settled.
    func cancel(channel: UInt16) throws {
        guard let record = consumers[channel], !record.cancelled else { return }
        record.cancelled = true
        record.retryAt = nil
        defer { record.buffer.finish() }
        try cancelAndRequeue(record)
    }

    /// Cancels and closes the channel: the broker requeues every unacked delivery of this consumer.
    func close(channel: UInt16) throws {
        guard let record = consumers[channel] else { return }
        record.cancelled = true
        record.retryAt = nil
        if let state = connection, record.channelOpen {
            let reply = amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS)
            record.channelOpen = false
            removeConsumer(record)
            try check(reply, context: "closing channel \(channel)", channel: channel)
        } else {
            removeConsumer(record)
        }
    }

    private func cancelAndRequeue(_ record: ConsumerRecord) throws {
        if let state = connection, record.consuming {
            CArena.with { arena in _ = amqp_basic_cancel(state, record.channel, arena.bytes(record.tag)) }
            record.consuming = false
            try checkReply("cancelling the consumer of queue '\(record.queue)'", channel: record.channel)
        }
        for delivery in record.buffer.drain() where delivery.settler.epoch == record.epoch {
            guard let state = connection, record.channelOpen, delivery.settler.claim() else { continue }
            if amqp_basic_reject(state, record.channel, delivery.deliveryTag, 1) != AMQP_STATUS_OK.rawValue {
                connectionLost("requeueing a delivery failed")
                return
            }
        }
    }

    func removeConsumer(_ record: ConsumerRecord) {
        guard consumers[record.channel] === record else { return }
        consumers[record.channel] = nil
        freeChannels.append(record.channel)
        record.buffer.finish()
    }
}
