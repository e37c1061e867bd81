/// Reads the elements of an array in order, keeping its index in the step context so a restart resumes after the
/// last committed chunk.
public struct ArrayItemReader<Item>: ItemReader {
    private let items: [Item]
    private let key: String
    private var index = 0

    /// Creates a reader over `items`.
    /// - Parameters:
    ///   - items: what to read.
    ///   - name: distinguishes this reader's entry in the step context (`"<name>.index"`).
    public init(_ items: [Item], name: String = "reader") {
        self.items = items
        self.key = name + ".index"
    }

    /// Resumes at the saved index.
    public mutating func open(_ context: ExecutionContext) async throws {
        index = context.int(key) ?? 0
    }

    /// The next element, or nil after the last.
    public mutating func read() async throws -> Item? {
        guard index < items.count else { return nil }
        defer { index += 1 }
        return items[index]
    }

    /// Saves the index.
    public func update(_ context: inout ExecutionContext) {
        context[key] = .int(Int64(index))
    }
}

/// Reads by calling a function until it returns nil. Not restartable by itself: a function that can resume should
/// be given the step context through its factory.
public struct ClosureItemReader<Item>: ItemReader {
    private let next: () async throws -> Item?

    /// Creates a reader calling `next` for each item.
    public init(_ next: @escaping () async throws -> Item?) {
        self.next = next
    }

    /// Calls the function.
    public mutating func read() async throws -> Item? {
        try await next()
    }
}

/// Writes each chunk by calling a function with its items.
public struct ClosureItemWriter<Item>: ItemWriter {
    private let body: ([Item]) async throws -> Void

    /// Creates a writer calling `body` for each chunk.
    public init(_ body: @escaping ([Item]) async throws -> Void) {
        self.body = body
    }

    /// Calls the function.
    public mutating func write(_ items: [Item], in transaction: any ChunkTransaction) async throws {
        try await body(items)
    }
}
