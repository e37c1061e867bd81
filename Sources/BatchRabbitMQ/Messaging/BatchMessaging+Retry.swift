extension BatchMessaging {
    /// Sends a command back to be tried again after `delay`, with `attempts` written into its headers, and acks the
    /// delivery once the broker has confirmed the copy.
    ///
    /// The copy waits in ``BatchTopology/commandsRetryQueue`` (its `expiration` is the delay) and the broker then
    /// dead-letters it back to the commands queue: the wait holds no worker slot and blocks no other command.
    /// Should the publish fail because the broker was out of reach, the delivery is requeued instead; should the
    /// broker refuse the copy, it is rejected (dead-lettered by its queue, with `x-death`).
    ///
    /// - Parameters:
    ///   - delivery: the command's delivery.
    ///   - attempts: the count to carry, already including this attempt.
    ///   - delay: how long to wait before the next attempt (at least 1 ms).
    /// - Throws: ``AMQPError`` when both the publish and the requeue failed.
    public func retry(_ delivery: AMQPDelivery, attempts: CommandAttempts, after delay: Duration) async throws {
        var properties = delivery.properties.republishable()
        properties.headers = attempts.applied(to: properties.headers)
        let (seconds, attoseconds) = delay.components
        let milliseconds = max(
            1, seconds.multipliedReportingOverflow(by: 1000).partialValue + attoseconds / 1_000_000_000_000_000)
        properties.expiration = String(milliseconds)
        try await republish(
            delivery, properties: properties, exchange: "", routingKey: topology.retryQueue(for: delivery.queue),
            failure: "could not send a command to the retry queue; requeueing it"
        ) { delivery, error in
            // Requeued only when the broker was out of reach; a copy the broker refused (or that could not be
            // encoded) would be refused again, so the command dead-letters through its queue instead of circling.
            try delivery.nack(requeue: (error as? AMQPError)?.isConnectionFailure == true)
        }
    }
}
