import Foundation

/// A command in the dead-letter queue, with why it is there.
public struct DeadLetter: Sendable, Hashable {
    /// The id the worker gave it when dead-lettering it (`x-batch-dead-letter-id`); `nil` for a message the broker
    /// dead-lettered on its own (a plain reject).
    public var id: String?
    /// Why it can never succeed (`x-batch-reason`).
    public var reason: String?
    /// The queue it came from (`x-batch-original-queue`).
    public var originalQueue: String?
    /// When it was first published, if the publisher set a timestamp.
    public var published: Date?
    /// When a worker dead-lettered it (`x-batch-dead-lettered-at`); `nil` for a message the broker dead-lettered
    /// on its own.
    public var deadLettered: Date?
    /// The message body as sent.
    public var body: [UInt8]

    /// The body as text (invalid UTF-8 replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }

    init(_ delivery: AMQPDelivery) {
        let headers = delivery.properties.headers
        id = headers[BatchMessaging.deadLetterIDHeader]?.stringValue
        reason = headers[BatchMessaging.deadLetterReasonHeader]?.stringValue
        originalQueue = headers[BatchMessaging.deadLetterOriginalQueueHeader]?.stringValue
        published = delivery.properties.timestamp.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        deadLettered =
            if case .timestamp(let seconds) = headers[BatchMessaging.deadLetteredAtHeader] {
                Date(timeIntervalSince1970: TimeInterval(seconds))
            } else {
                nil
            }
        body = delivery.body
    }
}
