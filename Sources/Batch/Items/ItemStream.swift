/// A reader or writer that keeps its position in the step's execution context, as Spring Batch's `ItemStream`:
/// `open` restores it (on restart the context of the last committed chunk), `update` saves it just before every
/// chunk commit, `close` ends the stream with the step's outcome.
public protocol ItemStream: SendableMetatype {
    /// Opens the stream, resuming from `context` when it holds a saved position.
    mutating func open(_ context: ExecutionContext) async throws
    /// Writes the current position into `context`; called before every chunk commit.
    func update(_ context: inout ExecutionContext)
    /// Closes the stream. `status` is the step's outcome: COMPLETED, STOPPED or FAILED.
    mutating func close(_ status: BatchStatus) async throws
}

extension ItemStream {
    /// Does nothing.
    public mutating func open(_ context: ExecutionContext) async throws {}
    /// Does nothing.
    public func update(_ context: inout ExecutionContext) {}
    /// Does nothing.
    public mutating func close(_ status: BatchStatus) async throws {}
}

/// Reads the items of a chunk step one at a time.
public protocol ItemReader<Item>: ItemStream {
    /// The type of item read.
    associatedtype Item
    /// The next item, or nil at the end of the input.
    mutating func read() async throws -> Item?
}

/// Writes the items of a chunk step, one chunk at a time, inside the chunk's transaction.
public protocol ItemWriter<Item>: ItemStream {
    /// The type of item written.
    associatedtype Item
    /// Writes one chunk's items. A writer for a transactional store writes through `transaction` (cast to the
    /// store's transaction type) so its writes commit with the chunk. A call that throws must leave nothing written
    /// outside the transaction: a fault-tolerant step writes a failed chunk's items again one at a time, and skips
    /// the ones whose call throws.
    mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws

    /// The chunk's transaction rolled back (to retry it, or to write its items one by one): undo what ``write(_:in:)``
    /// did outside the transaction since `committed`, the step context of the last committed chunk (a file writer
    /// truncates back to the offset saved there). Writers that write only through the transaction do nothing.
    mutating func rollback(to committed: ExecutionContext) async throws

    /// Work on a chunk's items that needs no transaction and can run ahead of ``write(_:in:)`` (encoding them for
    /// the target, say), or nil (the default) for none. A step reading ahead asks for it each time it starts reading
    /// the next chunk, so a writer can offer one once it has learned what it needs from a first write.
    func preparation() -> ChunkPreparation<Item>?

    /// Writes one chunk's items as ``write(_:in:)`` does, with what ``preparation()`` made of exactly these items
    /// (the default ignores it and calls ``write(_:in:)``).
    mutating func write(_ items: [Item], prepared: PreparedChunk, in transaction: any ChunkTransaction) async throws
}

extension ItemWriter {
    /// Does nothing: the transaction's rollback undid everything.
    public mutating func rollback(to committed: ExecutionContext) async throws {}
}
