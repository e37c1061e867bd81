/// What a publish needs to say for its confirm bookkeeping: where it went, and whether it was mandatory.
protocol ConfirmablePublish {
    /// The exchange it was published to.
    var exchange: String { get }
    /// Its routing key.
    var routingKey: String { get }
    /// Whether the broker returns it (basic.return) when no queue takes it.
    var mandatory: Bool { get }
}

/// The publishing channel's confirm bookkeeping, as a value: which publishes are waiting for a connection, which were
/// sent and await their basic.ack or basic.nack, and what each confirm, return, channel close or connection loss
/// means for them. No I/O: ``ConnectionLoop`` sends the frames and settles the publishes this hands back.
///
/// In confirm mode the broker numbers the messages of a channel from 1 (the delivery tag of its confirm); an ack or
/// nack with `multiple` settles every message up to its tag. basic.return carries no tag: it precedes the confirm of
/// the same message, so it marks the oldest unconfirmed mandatory message with the same exchange and routing key.
struct ConfirmTracker<Publish: ConfirmablePublish> {
    /// How a confirmed publish ends.
    enum Outcome: Equatable {
        /// basic.ack: the broker has the message.
        case acknowledged
        /// basic.nack: the broker refused it.
        case nacked
        /// basic.return, then basic.ack: no queue took the (mandatory) message.
        case returned(code: Int, text: String)
    }

    private struct Entry {
        let publish: Publish
        var returned: (code: Int, text: String)?
    }

    /// Whether the publishing channel is open and in confirm mode.
    private(set) var channelOpen = false
    /// The delivery tag the broker will give the next message.
    private(set) var nextSequence: UInt64 = 1
    /// The lowest tag that may still be unconfirmed.
    private var lowestUnconfirmed: UInt64 = 1
    /// Sent and not yet confirmed, by delivery tag.
    private var unconfirmed: [UInt64: Entry] = [:]
    /// Waiting for a connection (or a channel), in order.
    private(set) var waiting: [Publish] = []

    /// How many sent messages await their confirm.
    var outstandingCount: Int { unconfirmed.count }

    /// The publishing channel answered confirm.select: its numbering starts again at 1.
    mutating func channelOpened() {
        channelOpen = true
        nextSequence = 1
        lowestUnconfirmed = 1
    }

    /// A (new) connection was established: its publishing channel is not open yet. Anything still unconfirmed (which
    /// the previous connection took with it) is sent again, first.
    mutating func connectionEstablished() {
        connectionLost()
    }

    /// Records a message just sent on the open channel; returns its delivery tag.
    @discardableResult
    mutating func sent(_ publish: Publish) -> UInt64 {
        let sequence = nextSequence
        nextSequence += 1
        unconfirmed[sequence] = Entry(publish: publish)
        return sequence
    }

    /// Keeps a message to send once there is a connection.
    mutating func wait(_ publish: Publish) {
        waiting.append(publish)
    }

    /// Takes the messages waiting to be sent, in order.
    mutating func takeWaiting() -> [Publish] {
        defer { waiting.removeAll() }
        return waiting
    }

    /// basic.ack (`acknowledged`) or basic.nack for `deliveryTag`, and every earlier tag when `multiple`. Returns the
    /// publishes it settles, in tag order, with how each ends. A tag never sent settles nothing.
    mutating func confirm(
        deliveryTag: UInt64, multiple: Bool, acknowledged: Bool
    ) -> [(publish: Publish, outcome: Outcome)] {
        var settled: [(publish: Publish, outcome: Outcome)] = []
        func settle(_ entry: Entry) {
            let outcome: Outcome =
                if !acknowledged {
                    .nacked
                } else if let returned = entry.returned {
                    .returned(code: returned.code, text: returned.text)
                } else {
                    .acknowledged
                }
            settled.append((entry.publish, outcome))
        }
        if multiple {
            // Never past the last tag sent: a bogus tag from the broker must not make this loop (or overflow).
            let last = min(deliveryTag, nextSequence - 1)
            var tag = lowestUnconfirmed
            while tag <= last {
                if let entry = unconfirmed.removeValue(forKey: tag) { settle(entry) }
                tag += 1
            }
            if last >= lowestUnconfirmed { lowestUnconfirmed = last + 1 }
        } else if let entry = unconfirmed.removeValue(forKey: deliveryTag) {
            settle(entry)
        }
        while lowestUnconfirmed < nextSequence && unconfirmed[lowestUnconfirmed] == nil {
            lowestUnconfirmed += 1
        }
        return settled
    }

    /// basic.return: marks the oldest unconfirmed mandatory message for `exchange` and `routingKey` not yet marked (an
    /// older one with the same destination would have been returned, and marked, before). Its confirm then ends it
    /// as ``Outcome/returned(code:text:)``. Returns its tag, `nil` when no message matches.
    @discardableResult
    mutating func returned(exchange: String, routingKey: String, code: Int, text: String) -> UInt64? {
        var oldest: UInt64?
        for (tag, entry) in unconfirmed
        where entry.publish.mandatory && entry.returned == nil && entry.publish.exchange == exchange
            && entry.publish.routingKey == routingKey
        {
            if oldest.map({ tag < $0 }) ?? true { oldest = tag }
        }
        if let oldest { unconfirmed[oldest]?.returned = (code, text) }
        return oldest
    }

    /// The connection broke: every unconfirmed message will be sent again, in order and before those that were
    /// already waiting (so a consumer may see one twice: delivery is at least once). A return seen for one is
    /// forgotten: it is published anew.
    mutating func connectionLost() {
        if !unconfirmed.isEmpty {
            waiting = inTagOrder() + waiting
            unconfirmed.removeAll()
        }
        channelOpen = false
    }

    /// The broker closed the publishing channel (a publish to an exchange that does not exist, for example). It names
    /// no message, so every unconfirmed one fails: they are returned, in order.
    mutating func channelClosed() -> [Publish] {
        defer {
            unconfirmed.removeAll()
            channelOpen = false
        }
        return inTagOrder()
    }

    /// The connection is closing for good: returns every unconfirmed message, then every waiting one, to be failed.
    mutating func closeAll() -> [Publish] {
        defer {
            unconfirmed.removeAll()
            waiting.removeAll()
            channelOpen = false
        }
        return inTagOrder() + waiting
    }

    private func inTagOrder() -> [Publish] {
        unconfirmed.sorted { $0.key < $1.key }.map(\.value.publish)
    }
}
