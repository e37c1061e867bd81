/// A chunk-oriented step: read up to `chunkSize` items, process each (nil filters it out), write the chunk, then
/// commit the chunk's writes, the step's counters and its execution context (reader and writer positions)
/// together. A restart resumes after the last committed chunk: nothing lost, nothing written twice.
///
/// Readers and writers are made by factories, once per step execution, so one job definition can run many
/// instances at once and each partition gets its own:
/// ```swift
/// ChunkStep("post-entries", chunkSize: 500,
///           reader: { context in CSVReader<Entry>(path: try context.parameters.string("file")) },
///           processor: { entry in entry.amount == 0 ? nil : Posting(entry) },
///           writer: { _ in LedgerWriter() })
/// ```
/// A stop is seen at the next chunk boundary: the step ends STOPPED after the chunk in progress commits.
public struct ChunkStep<Reader: ItemReader, Writer: ItemWriter>: JobStep {
    /// The step's name.
    public let name: String
    /// The number of items per chunk (per transaction), unless ``chunkSize(_:)`` reads it from the parameters.
    public let chunkSize: Int
    @usableFromInline var resolveChunkSize: (@Sendable (StepContext) throws -> Int)?
    /// The step's own listeners.
    public var listeners = Listeners()
    @usableFromInline let makeReader: @Sendable (StepContext) throws -> Reader
    @usableFromInline let makeWriter: @Sendable (StepContext) throws -> Writer
    @usableFromInline let processor: (@Sendable (Reader.Item) async throws -> Writer.Item?)?
    /// The chunk loop, specialised for the concrete reader and writer where the step is created (the
    /// initialisers are inlinable): the engine reaches the step through `any JobStep`, which would otherwise run
    /// the per-item loop as unspecialised generic code.
    @usableFromInline let body: @Sendable (Self, StepScope) async throws -> BatchStatus

    /// Creates a chunk step with a processor.
    /// - Parameters:
    ///   - name: the step's name.
    ///   - chunkSize: items per chunk, at least 1.
    ///   - reader: makes the reader for a step execution.
    ///   - processor: turns a read item into one to write, or nil to filter it out.
    ///   - writer: makes the writer for a step execution.
    @inlinable
    public init(
        _ name: String, chunkSize: Int, reader: @escaping @Sendable (StepContext) throws -> Reader,
        processor: @escaping @Sendable (Reader.Item) async throws -> Writer.Item?,
        writer: @escaping @Sendable (StepContext) throws -> Writer
    ) {
        self.name = name
        self.chunkSize = chunkSize
        self.makeReader = reader
        self.processor = processor
        self.makeWriter = writer
        self.body = { step, scope in try await step.run(scope) }
    }

    /// Creates a chunk step that writes what it reads.
    @inlinable
    public init(
        _ name: String, chunkSize: Int, reader: @escaping @Sendable (StepContext) throws -> Reader,
        writer: @escaping @Sendable (StepContext) throws -> Writer
    ) where Reader.Item == Writer.Item {
        self.name = name
        self.chunkSize = chunkSize
        self.makeReader = reader
        self.processor = nil
        self.makeWriter = writer
        self.body = { step, scope in try await step.run(scope) }
    }

    /// Checks the name and that the chunk size is at least 1.
    public func validate() throws {
        try Self.validateName(name, of: "step")
        guard chunkSize >= 1 else {
            throw BatchError(.invalidDefinition, "chunk step '\(name)': chunkSize must be at least 1, got \(chunkSize)")
        }
    }

    /// Returns this step with its chunk size decided per execution, typically from a job parameter:
    /// `.chunkSize { try $0.parameters.int("chunkSize", default: 100) }`. A size below 1 fails the step.
    public func chunkSize(_ resolve: @escaping @Sendable (StepContext) throws -> Int) -> Self {
        var copy = self
        copy.resolveChunkSize = resolve
        return copy
    }

    /// Runs chunks until the reader is exhausted or a stop is requested.
    public func execute(_ scope: StepScope) async throws -> BatchStatus {
        try await body(self, scope)
    }

    @inlinable
    func run(_ scope: StepScope) async throws -> BatchStatus {
        let context = scope.context
        let chunkSize = try resolveChunkSize?(context) ?? self.chunkSize
        guard chunkSize >= 1 else {
            throw BatchError(
                .invalidParameters, "chunk step '\(name)': chunk size must be at least 1, got \(chunkSize)")
        }
        var reader = try makeReader(context)
        var writer = try makeWriter(context)
        try await reader.open(scope.execution.context)
        do {
            try await writer.open(scope.execution.context)
        } catch {
            try? await reader.close(.failed)
            throw error
        }
        let status: BatchStatus
        do {
            status = try await runChunks(scope, chunkSize, &reader, &writer)
        } catch {
            try? await writer.close(.failed)
            try? await reader.close(.failed)
            throw error
        }
        try await writer.close(status)
        try await reader.close(status)
        return status
    }

    @inlinable
    func runChunks(
        _ scope: StepScope, _ chunkSize: Int, _ reader: inout Reader, _ writer: inout Writer
    ) async throws
        -> BatchStatus
    {
        let chunkListeners = scope.listeners.chunk
        var outputs: [Writer.Item] = []
        outputs.reserveCapacity(chunkSize)
        while true {
            if try await scope.stopRequested() { return .stopped }
            outputs.removeAll(keepingCapacity: true)
            var read = 0
            var exhausted = false
            do {
                for listener in chunkListeners {
                    try await callListener(listener, "beforeChunk") { try await $0.beforeChunk(scope.context) }
                }
                // Each item is processed as soon as it is read: the same calls in the same order per item as
                // reading the whole chunk first, without holding the chunk's input twice.
                while read < chunkSize {
                    guard let item = try await reader.read() else {
                        exhausted = true
                        break
                    }
                    read += 1
                    if let processor {
                        if let output = try await processor(item) { outputs.append(output) }
                    } else {
                        // Without a processor the initialiser required Reader.Item == Writer.Item.
                        outputs.append(unsafeBitCast(item, to: Writer.Item.self))
                    }
                }
                if read > 0 {
                    try await commitChunk(scope, read: read, outputs: outputs, reader, &writer)
                }
                for listener in chunkListeners.reversed() {
                    try await callListener(listener, "afterChunk") { try await $0.afterChunk(scope.context) }
                }
            } catch {
                scope.execution.counters.rollback += 1
                for listener in chunkListeners.reversed() {
                    await listener.onChunkError(error, context: scope.context)
                }
                throw error
            }
            if exhausted { return .completed }
        }
    }

    @inlinable
    func commitChunk(
        _ scope: StepScope, read: Int, outputs: [Writer.Item], _ reader: Reader, _ writer: inout Writer
    ) async throws {
        let transaction = try await scope.repository.beginChunk()
        do {
            if !outputs.isEmpty { try await writer.write(outputs, in: transaction) }
            var next = scope.execution
            next.context = scope.context.stepContext
            reader.update(&next.context)
            writer.update(&next.context)
            next.counters.read += read
            next.counters.write += outputs.count
            next.counters.filter += read - outputs.count
            next.counters.commit += 1
            scope.execution = try await transaction.commit(next)
        } catch {
            await transaction.rollback()
            throw error
        }
        scope.context.stepContext = scope.execution.context
    }
}
