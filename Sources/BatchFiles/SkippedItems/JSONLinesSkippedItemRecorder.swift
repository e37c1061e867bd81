import Batch
import Foundation
import Synchronization

/// Appends skipped items to a JSON Lines file, one object per line. Not transactional: after a crash between the
/// append and the chunk's commit, a restart can record an item twice.
public final class JSONLinesSkippedItemRecorder: SkippedItemRecorder {
    /// The file.
    public let path: String
    private let lock = Mutex(())

    /// Creates a recorder appending to `path` (created if missing).
    public init(path: String) {
        self.path = path
    }

    /// Appends one line per item.
    public func record(_ items: [SkippedItem], in transaction: any ChunkTransaction) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        var data = Data()
        for item in items {
            data.append(try encoder.encode(item))
            data.append(0x0A)
        }
        try lock.withLock { _ in
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw BatchError(.invalidState, "cannot create the skipped-items file \(path)")
                }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
        }
    }
}
