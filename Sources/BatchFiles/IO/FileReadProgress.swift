import Batch

/// How far a file reader has come, in bytes: the reader's position within the bytes it reads (its range, or the
/// whole file), for the progress the engine reports (``ProgressReportingReader``). None for a gzip file, whose
/// position counts uncompressed bytes and whose size compressed ones.
struct FileReadProgress: Sendable {
    let start: Int64
    let end: Int64

    /// The bytes a reader of `path` (within `range`, if any) goes through; nil when unknown.
    init?(path: String, gzip: Bool, range: FileByteRange?) {
        guard !gzip, let end = range?.end ?? FileSystem.size(of: path) else { return nil }
        let start = range?.start ?? 0
        guard end > start else { return nil }
        self.start = start
        self.end = end
    }

    /// Bytes done and the total at `position`.
    func at(_ position: Int64) -> (done: Int64, total: Int64) {
        (min(max(0, position - start), end - start), end - start)
    }
}
