/// Work on a chunk's items that a writer can do before the chunk's transaction begins — encoding rows, say — given
/// by ``ItemWriter/preparation()``. A step reading ahead (``ChunkStep/readAhead(_:)``) runs it in the read-ahead
/// task right after the chunk is read, beside the previous chunk's write, and hands what it made to
/// ``ItemWriter/write(_:prepared:in:)``.
public struct ChunkPreparation<Item>: Sendable {
    @usableFromInline let body: @Sendable ([Item]) throws -> any Sendable

    /// A preparation running `body` on a chunk's items.
    ///
    /// `body` runs in another task than the writer's `write`, one chunk at a time, and must not touch the writer's
    /// state. When it throws, the chunk is written unprepared: `write(_:in:)` then meets (and reports) the problem
    /// in its usual place.
    public init(_ body: @escaping @Sendable ([Item]) throws -> any Sendable) { self.body = body }

    /// Prepares a chunk's items: what `body` made of them, or nil when it threw.
    @inlinable
    public func prepare(_ items: [Item]) -> PreparedChunk? {
        guard let value = try? body(items) else { return nil }
        return PreparedChunk(value: value, count: items.count)
    }
}

/// What a ``ChunkPreparation`` made of a chunk's items, handed to ``ItemWriter/write(_:prepared:in:)`` with them.
public struct PreparedChunk: Sendable {
    /// What the preparation returned.
    public let value: any Sendable
    /// The number of items prepared.
    public let count: Int

    @usableFromInline
    init(value: any Sendable, count: Int) {
        self.value = value
        self.count = count
    }
}

extension ItemWriter {
    /// None: the writer does all its work in ``write(_:in:)``.
    public func preparation() -> ChunkPreparation<Item>? { nil }

    /// Writes the items with ``write(_:in:)``: a writer without a ``preparation()`` has nothing prepared to use.
    public mutating func write(
        _ items: [Item], prepared: PreparedChunk, in transaction: any ChunkTransaction
    ) async throws {
        try await write(items, in: transaction)
    }
}
