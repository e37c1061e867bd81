import Batch
import Foundation
import Synchronization

/// Appends skipped items to a JSON Lines file, one object per line. Not transactional: after a crash between the
/// append and the chunk's commit, a restart can record an item twice. A chunk whose commit failed and is tried
/// again records its skipped items again with the same values: those this recorder appended lately (the last
/// 4,096) are not appended twice.
public final class JSONLinesSkippedItemRecorder: SkippedItemRecorder {
    /// The file.
    public let path: String
    private let lock = Mutex(RecentItems())

    /// The items appended lately, oldest first, to leave out a retried chunk's.
    struct RecentItems {
        static let capacity = 4_096
        private var order: [SkippedItem] = []
        private var next = 0
        private var known: Set<SkippedItem> = []

        /// Whether `item` was appended lately.
        func contains(_ item: SkippedItem) -> Bool { known.contains(item) }

        /// Remembers an item appended, forgetting the oldest beyond ``capacity``.
        mutating func remember(_ item: SkippedItem) {
            guard known.insert(item).inserted else { return }
            if order.count < Self.capacity {
                order.append(item)
            } else {
                known.remove(order[next])
                order[next] = item
                next = (next + 1) % Self.capacity
            }
        }
    }

    /// Creates a recorder appending to `path` (created if missing).
    public init(path: String) {
        self.path = path
    }

    /// Appends one line per item.
    public func record(_ items: [SkippedItem], in transaction: any ChunkTransaction) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try lock.withLock { recent in
            let fresh = items.filter { !recent.contains($0) }
            guard !fresh.isEmpty else { return }
            var data = Data()
            for item in fresh {
                data.append(try encoder.encode(item))
                data.append(0x0A)
            }
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw BatchError(.invalidState, "cannot create the skipped-items file \(path)")
                }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
            // Only once they are in the file: a failed append leaves them to the next attempt.
            for item in fresh { recent.remember(item) }
        }
    }
}
