import Foundation
import Synchronization

/// An item a chunk step skipped, with why: what an operator looks at, and replays.
public struct SkippedItem: Sendable, Hashable, Codable {
    /// Where the item failed.
    public enum Phase: String, Sendable, Hashable, Codable {
        /// Reading it failed (there is no item, only the error).
        case read
        /// Processing it failed.
        case process
        /// Writing it failed.
        case write
    }

    /// The job's name.
    public var jobName: String
    /// The job execution.
    public var jobExecutionId: Int64
    /// The step's name.
    public var stepName: String
    /// Where it failed.
    public var phase: Phase
    /// What was skipped, as JSON: for a process or write skip the item encoded (see ``json(of:)``); for a read
    /// skip the raw record the reader moved past (see ``RawRecord/json``), or nil when the reader kept none.
    public var item: JSONValue?
    /// The error.
    public var reason: String
    /// When it was skipped.
    public var time: Date

    /// Creates a record.
    public init(
        jobName: String, jobExecutionId: Int64, stepName: String, phase: Phase, item: JSONValue?, reason: String,
        time: Date = Date()
    ) {
        self.jobName = jobName
        self.jobExecutionId = jobExecutionId
        self.stepName = stepName
        self.phase = phase
        self.item = item
        self.reason = reason
        self.time = time
    }

    /// The raw record of a read skip, decoded from ``item``; nil for other skips.
    public var rawRecord: RawRecord? {
        guard phase == .read, let item, let data = try? JSONEncoder().encode(item) else { return nil }
        return try? JSONDecoder().decode(RawRecord.self, from: data)
    }

    /// Turns an item into JSON: an `Encodable` item is encoded. Anything else is recorded as
    /// `{"notEncodable": "<type>"}` (with `"error"` when encoding failed), never as a Swift description, which
    /// could not be replayed; make items `Encodable` to keep them.
    public static func json(of item: Any) -> JSONValue {
        let type = String(reflecting: Swift.type(of: item))
        guard let encodable = item as? any Encodable else { return .object(["notEncodable": .string(type)]) }
        do {
            return try JSONValue(parsing: JSONEncoder().encode(encodable), largeIntegers: .nearestDouble)
        } catch {
            return .object(["notEncodable": .string(type), "error": .string("\(error)")])
        }
    }

    /// What a skip records as ``item``: the item as JSON when there is one, else the raw record `error` carries
    /// (a reader's ``RawRecordError``), else nil.
    public static func json(of item: Any?, error: any Error) -> JSONValue? {
        if let item { return json(of: item) }
        return RawRecordError.record(in: error)?.json
    }
}

/// Stores skipped items. A recorder for a transactional store writes through the chunk's transaction, so the
/// records commit with the chunk (exactly once); others write at once.
public protocol SkippedItemRecorder: Sendable {
    /// Stores the items skipped in one chunk, just before it commits.
    func record(_ items: [SkippedItem], in transaction: any ChunkTransaction) async throws
}

/// Keeps skipped items in memory (tests, `run --in-memory`).
public final class InMemorySkippedItems: SkippedItemRecorder {
    private let storage = Mutex<[SkippedItem]>([])

    /// Creates an empty list.
    public init() {}

    /// Appends the items.
    public func record(_ items: [SkippedItem], in transaction: any ChunkTransaction) async throws {
        storage.withLock { $0.append(contentsOf: items) }
    }

    /// Everything recorded, in order.
    public var items: [SkippedItem] { storage.withLock { $0 } }
}
