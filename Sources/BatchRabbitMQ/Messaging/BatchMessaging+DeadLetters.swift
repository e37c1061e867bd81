extension BatchMessaging {
    /// The most dead letters one listing or requeue looks at.
    public static let deadLetterScanLimit = 10_000

    /// Reads the dead-letter queue without removing anything: the first `limit` messages, oldest first.
    ///
    /// The messages are taken unacked and handed back when the listing ends, so they stay in the queue in their order.
    ///
    /// - Parameter limit: how many to read (at most ``deadLetterScanLimit``).
    /// - Throws: ``AMQPError`` when the broker cannot be reached.
    public func deadLetters(limit: Int = 100) async throws -> [DeadLetter] {
        try await scanDeadLetters(limit: limit) { _ in false }.letters
    }

    /// Moves the dead letter with `id` back to the commands queue (a partition: to the partitions queue), to be tried again with a fresh attempt count;
    /// the others stay where they are.
    ///
    /// - Parameter id: the dead letter's id (``DeadLetter/id``).
    /// - Returns: the dead letter sent back, or `nil` when no message with that id is in the queue.
    /// - Throws: ``AMQPError`` when the broker cannot be reached or refused the publish (then nothing moved).
    public func requeueDeadLetter(id: String) async throws -> DeadLetter? {
        try await scanDeadLetters(limit: Self.deadLetterScanLimit) { delivery in
            guard DeadLetter(delivery).id == id else { return false }
            var properties = delivery.properties.republishable()
            // A partition goes back to the partitions queue, anything else to the commands.
            let target =
                properties.headers[Self.deadLetterOriginalQueueHeader] == .string(topology.partitionsQueue)
                ? topology.partitionsQueue : topology.commandsQueue
            for header in [
                Self.deadLetterReasonHeader, Self.deadLetterOriginalQueueHeader, Self.deadLetterIDHeader,
                Self.deadLetteredAtHeader,
                CommandAttempts.attemptsHeader,
                CommandAttempts.lastErrorHeader, "x-death", "x-first-death-exchange", "x-first-death-queue",
                "x-first-death-reason",
            ] {
                properties.headers.removeValue(forKey: header)
            }
            properties.expiration = nil
            try await connection.publish(
                AMQPMessage(body: delivery.body, properties: properties), exchange: "",
                routingKey: target, mandatory: true)
            try delivery.ack()
            return true
        }.taken
    }

    /// Takes up to `limit` dead letters unacked, offers each to `take` (which settles the ones it keeps and returns
    /// true), and hands the rest back by closing the channel; one scan of this process at a time
    /// (``DeadLetterScanTurns``).
    private func scanDeadLetters(
        limit: Int, take: (AMQPDelivery) async throws -> Bool
    ) async throws -> (letters: [DeadLetter], taken: DeadLetter?) {
        try await deadLetterScans.run { try await scanDeadLettersNow(limit: limit, take: take) }
    }

    private func scanDeadLettersNow(
        limit: Int, take: (AMQPDelivery) async throws -> Bool
    ) async throws -> (letters: [DeadLetter], taken: DeadLetter?) {
        let available = try await connection.queueStatus(topology.deadLetterQueue).messages
        let wanted = min(max(0, limit), available, Self.deadLetterScanLimit)
        guard wanted > 0 else { return ([], nil) }
        let consumer = try await connection.consume(
            queue: topology.deadLetterQueue, prefetch: UInt16(clamping: wanted))
        // Another client may hold some of the messages: stop waiting after a few quiet seconds.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(5))
            try await consumer.cancel()
        }
        defer { watchdog.cancel() }
        var letters: [DeadLetter] = []
        var taken: DeadLetter?
        do {
            for try await delivery in consumer {
                if try await take(delivery) {
                    taken = DeadLetter(delivery)
                    break
                }
                letters.append(DeadLetter(delivery))
                if letters.count == wanted { break }
            }
        } catch {
            try? await consumer.close()
            throw error
        }
        // Closing the channel hands back what was not taken; the ack of a taken one goes out before it.
        try await consumer.close()
        return (letters, taken)
    }
}
