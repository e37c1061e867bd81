import Foundation
import Logging

/// A chunk-oriented step: read up to `chunkSize` items, process each (nil filters it out), write the chunk, then
/// commit the chunk's writes, the step's counters and its execution context (reader and writer positions)
/// together. A restart resumes after the last committed chunk: nothing lost, nothing written twice.
///
/// Readers and writers are made by factories, once per step execution, so one job definition can run many
/// instances at once and each partition gets its own:
/// ```swift
/// ChunkStep("post-entries", chunkSize: 500,
///           reader: { context in   // a file named by a parameter, inside BATCH_DATA_DIR: a message names no other
///               CSVReader<Entry>(path: try await context.dataDirectory.resolve(try context.parameters.string("file")))
///           },
///           processor: { entry, context in entry.amount == 0 ? nil : Posting(entry, day: try context.parameters.day("date")) },
///           writer: { context in LedgerWriter(pool: try context.resource(AppDatabase.self)) })
/// ```
/// The factories may be `async` (to open a connection, say); the processor gets the item alone or the item and
/// the step's context.
/// A stop is seen at the next chunk boundary: the step ends STOPPED after the chunk in progress commits.
public struct ChunkStep<Reader: ItemReader, Writer: ItemWriter>: JobStep {
    /// The step's name.
    public let name: String
    /// The number of items per chunk (per transaction), unless ``chunkSize(_:)`` reads it from the parameters.
    public let chunkSize: Int
    @usableFromInline var resolveChunkSize: (@Sendable (StepContext) throws -> Int)?
    @usableFromInline var faultTolerance = FaultTolerance()
    /// The step's own listeners.
    public var listeners = Listeners()
    /// Whether the step runs again on a restart after an execution completed it (``allowStartIfComplete(_:)``).
    public var allowStartIfComplete = false
    /// Whether the next chunk is read while the current one commits (``readAhead(_:)``).
    @usableFromInline var readsAhead = false
    @usableFromInline let makeReader: @Sendable (StepContext) async throws -> Reader
    @usableFromInline let makeWriter: @Sendable (StepContext) async throws -> Writer
    @usableFromInline let processor: (@Sendable (Reader.Item, StepContext) async throws -> Writer.Item?)?
    /// The processor as given when it needs only the item: called directly in the chunk loop, without handing it
    /// the step context for every item.
    @usableFromInline let itemProcessor: (@Sendable (Reader.Item) async throws -> Writer.Item?)?
    /// Without a processor, how a read item becomes the item written: the identity, typed by the initialiser that
    /// requires `Reader.Item == Writer.Item`.
    @usableFromInline let passThrough: (@Sendable (Reader.Item) -> Writer.Item)?
    /// The chunk loop, specialised for the concrete reader and writer where the step is created (the
    /// initialisers are inlinable): the engine reaches the step through `any JobStep`, which would otherwise run
    /// the per-item loop as unspecialised generic code.
    @usableFromInline let body: @Sendable (Self, StepScope) async throws -> BatchStatus

    /// Creates a chunk step with a processor that sees the step's context (parameters, execution contexts,
    /// resources, logger).
    /// - Parameters:
    ///   - name: the step's name.
    ///   - chunkSize: items per chunk, at least 1.
    ///   - reader: makes the reader for a step execution (may be `async`).
    ///   - processor: turns a read item into one to write, or nil to filter it out.
    ///   - writer: makes the writer for a step execution (may be `async`).
    @inlinable
    public init(
        _ name: String, chunkSize: Int, reader: @escaping @Sendable (StepContext) async throws -> Reader,
        processor: @escaping @Sendable (Reader.Item, StepContext) async throws -> Writer.Item?,
        writer: @escaping @Sendable (StepContext) async throws -> Writer
    ) {
        self.init(
            name, chunkSize: chunkSize, makeReader: reader, processor: processor, itemProcessor: nil,
            passThrough: nil, makeWriter: writer)
    }

    /// Creates a chunk step with a processor that needs only the item.
    /// - Parameters:
    ///   - name: the step's name.
    ///   - chunkSize: items per chunk, at least 1.
    ///   - reader: makes the reader for a step execution (may be `async`).
    ///   - processor: turns a read item into one to write, or nil to filter it out.
    ///   - writer: makes the writer for a step execution (may be `async`).
    @inlinable
    public init(
        _ name: String, chunkSize: Int, reader: @escaping @Sendable (StepContext) async throws -> Reader,
        processor: @escaping @Sendable (Reader.Item) async throws -> Writer.Item?,
        writer: @escaping @Sendable (StepContext) async throws -> Writer
    ) {
        self.init(
            name, chunkSize: chunkSize, makeReader: reader, processor: { item, _ in try await processor(item) },
            itemProcessor: processor,
            passThrough: nil, makeWriter: writer)
    }

    /// Creates a chunk step that writes what it reads.
    @inlinable
    public init(
        _ name: String, chunkSize: Int, reader: @escaping @Sendable (StepContext) async throws -> Reader,
        writer: @escaping @Sendable (StepContext) async throws -> Writer
    ) where Reader.Item == Writer.Item {
        self.init(
            name, chunkSize: chunkSize, makeReader: reader, processor: nil, itemProcessor: nil,
            passThrough: { $0 }, makeWriter: writer)
    }

    /// The one place the stored properties are set; the chunk loop is specialised here for the concrete reader and
    /// writer (this is inlined into the public initialisers, and they into the code that builds the step).
    @inlinable
    init(
        _ name: String, chunkSize: Int, makeReader: @escaping @Sendable (StepContext) async throws -> Reader,
        processor: (@Sendable (Reader.Item, StepContext) async throws -> Writer.Item?)?,
        itemProcessor: (@Sendable (Reader.Item) async throws -> Writer.Item?)?,
        passThrough: (@Sendable (Reader.Item) -> Writer.Item)?,
        makeWriter: @escaping @Sendable (StepContext) async throws -> Writer
    ) {
        self.name = name
        self.chunkSize = chunkSize
        self.makeReader = makeReader
        self.processor = processor
        self.itemProcessor = itemProcessor
        self.passThrough = passThrough
        self.makeWriter = makeWriter
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
    /// `.chunkSize { try $0.parameters.int("chunkSize", default: 100) }`.
    ///
    /// The job checks it before the start stores anything (``checkParameters(_:)``): `resolve` is then called
    /// with a context that holds the parameters only (no ids, empty execution contexts), and whatever it throws, or
    /// a size below 1, refuses the start with ``BatchError/Code/invalidParameters``.
    public func chunkSize(_ resolve: @escaping @Sendable (StepContext) throws -> Int) -> Self {
        var copy = self
        copy.resolveChunkSize = resolve
        return copy
    }

    /// Returns this step skipping bad items: an error that `policy` calls skippable, while reading, processing or
    /// writing an item, leaves the item out (counted as a read, process or write skip and recorded) instead of
    /// failing the step — up to the policy's limit. A skippable write error rolls the chunk back and writes its
    /// items one by one (each after a savepoint) to find the bad one: the good items are written once. A stop and
    /// a resource's failure are never skipped (see ``SkipPolicy``).
    public func skip(_ policy: SkipPolicy) -> Self {
        var copy = self
        copy.faultTolerance.skip = policy
        return copy
    }

    /// Returns this step retrying passing failures: an error `policy` calls retryable, while processing an item or
    /// writing a chunk, is retried up to the policy's limit with backoff (a chunk write in a new transaction). A
    /// stop is never retried (see ``RetryPolicy``).
    public func retry(_ policy: RetryPolicy) -> Self {
        var copy = self
        copy.faultTolerance.retry = policy
        return copy
    }

    /// Returns this step recording every skipped item with `recorder` (in the chunk's transaction).
    public func recordSkippedItems(_ recorder: any SkippedItemRecorder) -> Self {
        var copy = self
        copy.faultTolerance.recorder = recorder
        copy.faultTolerance.makeRecorder = nil
        return copy
    }

    /// Returns this step recording every skipped item with the recorder `make` returns from the step's context
    /// when the step starts: for a recorder that needs an application resource (a pool to the application's own
    /// database, say).
    /// ```swift
    /// .recordSkippedItems { context in
    ///     try PostgresSkippedItemRecorder(pool: try await context.resource(AppDatabase.self))
    /// }
    /// ```
    public func recordSkippedItems(
        _ make: @escaping @Sendable (StepContext) async throws -> any SkippedItemRecorder
    ) -> Self {
        var copy = self
        copy.faultTolerance.makeRecorder = make
        return copy
    }

    /// Returns this step marked to run again on every restart of its job instance, even after an execution
    /// completed it (for set-up steps: creating tables, fetching a file); see ``JobStep/allowStartIfComplete``.
    public func allowStartIfComplete(_ allow: Bool = true) -> Self {
        var copy = self
        copy.allowStartIfComplete = allow
        return copy
    }

    /// Runs chunks until the reader is exhausted or a stop is requested.
    public func execute(_ scope: StepScope) async throws -> BatchStatus {
        try await body(self, scope)
    }

    @inlinable
    func run(_ scope: StepScope) async throws -> BatchStatus {
        let context = scope.context
        if let makeRecorder = faultTolerance.makeRecorder {
            var step = self
            step.faultTolerance.recorder = try await makeRecorder(context)
            step.faultTolerance.makeRecorder = nil
            return try await step.run(scope)
        }
        let chunkSize = try resolveChunkSize?(context) ?? self.chunkSize
        try Self.checkChunkSize(chunkSize, step: name)
        var reader = try await makeReader(context)
        var writer = try await makeWriter(context)
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
        do {
            try await writer.close(status)
        } catch {
            try? await reader.close(.failed)
            throw error
        }
        try await reader.close(status)
        return status
    }

    @inlinable
    func runChunks(
        _ scope: StepScope, _ chunkSize: Int, _ reader: inout Reader, _ writer: inout Writer
    ) async throws
        -> BatchStatus
    {
        if readsAheadNow(scope) { return try await runChunksReadingAhead(scope, chunkSize, &reader, &writer) }
        let chunkListeners = scope.listeners.chunk
        let observation = scope.observation
        var chunk = Chunk<Writer.Item>(capacity: chunkSize)
        var number = 0
        while true {
            if try await scope.stopRequested() { return .stopped }
            chunk.reset()
            var exhausted = false
            number += 1
            let observed = observation.chunkStarted(number: number)
            do {
                for listener in chunkListeners {
                    try await callListener(listener, "beforeChunk") { try await $0.beforeChunk(scope.context) }
                }
                // Each item is processed as soon as it is read: the same calls in the same order per item as
                // reading the whole chunk first, without holding the chunk's input twice. Read skips do not count
                // as items, but a chunk holds at most `chunkSize` of them (each keeps its raw record): a long run
                // of bad records commits, and is recorded, a chunk at a time.
                while chunk.read < chunkSize, chunk.readSkips < chunkSize {
                    let next: Reader.Item?
                    if faultTolerance.isEnabled {
                        do {
                            next = try await reader.read()
                        } catch {
                            try await skipOrThrow(error, item: nil, phase: .read, &chunk, scope)
                            continue
                        }
                    } else {
                        next = try await reader.read()
                    }
                    guard let item = next else {
                        exhausted = true
                        break
                    }
                    chunk.read += 1
                    if faultTolerance.isEnabled, let processor {
                        do {
                            if let output = try await processWithRetry(item, processor, scope) {
                                chunk.outputs.append(output)
                            }
                        } catch {
                            try await skipOrThrow(error, item: item, phase: .process, &chunk, scope)
                        }
                    } else if let output = try await process(item, scope.context) {
                        chunk.outputs.append(output)
                    }
                }
                if chunk.read > 0 || !chunk.skipped.isEmpty {
                    try await commitChunk(scope, &chunk, &writer) { Self.checkpoint(scope, reader) }
                }
            } catch {
                observation.chunkFailed(observed, error)
                scope.execution.counters.rollback += 1
                for listener in chunkListeners.reversed() {
                    await listener.onChunkError(error, context: scope.context)
                }
                throw error
            }
            // After the commit: an error here fails the step (and ends the chunk's span), but nothing rolled back.
            do {
                for listener in chunkListeners.reversed() {
                    try await callListener(listener, "afterChunk") { try await $0.afterChunk(scope.context) }
                }
            } catch {
                observation.chunkFailed(observed, error)
                throw error
            }
            if observation.chunkEnded(observed, committed: chunk.read > 0 || !chunk.skipped.isEmpty, read: chunk.read) {
                observation.reportProgress(scope.execution.counters, reader: reader as? any ProgressReportingReader)
            }
            if exhausted { return .completed }
        }
    }

    /// Commits the chunk: writes its items, records its skipped items and stores the step execution in one
    /// transaction. A retryable write error is retried in a new transaction; a skippable one makes the chunk be
    /// written again item by item to leave the bad items out.
    @inlinable
    func commitChunk(
        _ scope: StepScope, _ chunk: inout Chunk<Writer.Item>, _ writer: inout Writer,
        checkpoint: () -> ExecutionContext
    ) async throws {
        var attempt = 0
        while true {
            let transaction = try await scope.repository.beginChunk()
            do {
                if !chunk.outputs.isEmpty { try await writer.write(chunk.outputs, in: transaction) }
                try await commit(
                    scope, chunk, written: chunk.outputs.count, writer, transaction, checkpoint: checkpoint)
                return
            } catch {
                await transaction.rollback()
                guard faultTolerance.isEnabled, !chunk.outputs.isEmpty else { throw error }
                attempt += 1
                let delay = faultTolerance.retryDelay(for: error, attempt: attempt)
                guard delay != nil || faultTolerance.skips(error) else { throw error }
                try await writer.rollback(to: scope.execution.context)
                scope.execution.counters.rollback += 1
                if let delay {
                    for listener in scope.listeners.retry {
                        await listener.onRetry(attempt: attempt, error: error, context: scope.context)
                    }
                    try await Task.sleep(for: delay)
                    continue
                }
                try await writeOneByOne(scope, &chunk, &writer, checkpoint: checkpoint)
                return
            }
        }
    }

    /// Writes a chunk's items one at a time in one transaction, each after a savepoint, skipping those that fail
    /// with a skippable error.
    @usableFromInline
    func writeOneByOne(
        _ scope: StepScope, _ chunk: inout Chunk<Writer.Item>, _ writer: inout Writer,
        checkpoint: () -> ExecutionContext
    ) async throws {
        let transaction = try await scope.repository.beginChunk()
        do {
            var written = 0
            for item in chunk.outputs {
                try await transaction.savepoint()
                do {
                    try await writer.write([item], in: transaction)
                    try await transaction.releaseSavepoint()
                    written += 1
                } catch {
                    try await transaction.rollbackToSavepoint()
                    try await skipOrThrow(error, item: item, phase: .write, &chunk, scope)
                }
            }
            try await commit(scope, chunk, written: written, writer, transaction, checkpoint: checkpoint)
        } catch {
            await transaction.rollback()
            try? await writer.rollback(to: scope.execution.context)
            throw error
        }
    }

    /// Records the chunk's skipped items and stores the step execution (counters, the step context with the reader's
    /// position that `checkpoint` gives, the writer's position) in `transaction`, then commits it.
    @inlinable
    func commit(
        _ scope: StepScope, _ chunk: Chunk<Writer.Item>, written: Int, _ writer: Writer,
        _ transaction: any ChunkTransaction, checkpoint: () -> ExecutionContext
    ) async throws {
        if !chunk.skipped.isEmpty, let recorder = faultTolerance.recorder {
            try await recorder.record(chunk.skipped, in: transaction)
        }
        let next = Self.nextExecution(scope, chunk, written: written, writer, checkpoint: checkpoint())
        committed(scope, chunk, written: written, stored: try await transaction.commit(next), transaction)
    }

    /// The step execution a chunk commits: the last committed one with the chunk's counts added, the step context
    /// `checkpoint` (with the reader's position) and the writer's position.
    @inlinable
    static func nextExecution(
        _ scope: StepScope, _ chunk: Chunk<Writer.Item>, written: Int, _ writer: Writer, checkpoint: ExecutionContext
    ) -> StepExecution {
        var next = scope.execution
        next.context = checkpoint
        writer.update(&next.context)
        next.counters.read += chunk.read
        next.counters.write += written
        next.counters.filter += chunk.read - chunk.outputs.count - chunk.processSkips
        next.counters.readSkip += chunk.readSkips
        next.counters.processSkip += chunk.processSkips
        next.counters.writeSkip += chunk.writeSkips
        next.counters.commit += 1
        return next
    }

    /// Takes in a committed chunk: the step execution `stored`, its counts, the job status the commit read.
    @inlinable
    func committed(
        _ scope: StepScope, _ chunk: Chunk<Writer.Item>, written: Int, stored: StepExecution,
        _ transaction: any ChunkTransaction
    ) {
        scope.execution = stored
        scope.observation.chunkCommitted(
            read: chunk.read, written: written, filtered: chunk.read - chunk.outputs.count - chunk.processSkips,
            skipped: chunk.readSkips + chunk.processSkips + chunk.writeSkips)
        scope.committed(transaction)
        // Reading ahead, the processor may be changing the step context for the chunk being read: left as it is.
        if !readsAheadNow(scope) { scope.context.stepContext = scope.execution.context }
    }

    /// The step context with the reader's current position: what a chunk read one after the other commits.
    @inlinable
    static func checkpoint(_ scope: StepScope, _ reader: Reader) -> ExecutionContext {
        var context = scope.context.stepContext
        reader.update(&context)
        return context
    }

    /// An item turned into the one to write, without fault tolerance: the processor (as given), or the item itself.
    @inlinable
    func process(_ item: Reader.Item, _ context: StepContext) async throws -> Writer.Item? {
        if let itemProcessor { return try await itemProcessor(item) }
        if let processor { return try await processor(item, context) }
        return passThrough?(item)
    }

    @inlinable
    func processWithRetry(
        _ item: Reader.Item, _ processor: @Sendable (Reader.Item, StepContext) async throws -> Writer.Item?,
        _ scope: StepScope
    ) async throws -> Writer.Item? {
        var attempt = 0
        while true {
            do {
                return try await processor(item, scope.context)
            } catch {
                attempt += 1
                guard let delay = faultTolerance.retryDelay(for: error, attempt: attempt) else { throw error }
                for listener in scope.listeners.retry {
                    await listener.onRetry(attempt: attempt, error: error, context: scope.context)
                }
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Skips the item if the policy allows (counting and noting it for the commit), else rethrows.
    @usableFromInline
    func skipOrThrow(
        _ error: any Error, item: Any?, phase: SkippedItem.Phase, _ chunk: inout Chunk<Writer.Item>,
        _ scope: StepScope
    ) async throws {
        let counters = scope.execution.counters
        let skippedBefore = counters.readSkip + counters.processSkip + counters.writeSkip + chunk.skipped.count
        guard try faultTolerance.maySkip(error, alreadySkipped: skippedBefore, step: scope.context.stepName) else {
            throw error
        }
        let skipped = SkippedItem(
            jobName: scope.context.jobName, jobExecutionId: scope.context.jobExecutionId,
            stepName: scope.context.stepName, phase: phase, item: SkippedItem.json(of: item, error: error),
            reason: error.batchDescription)
        chunk.skipped.append(skipped)
        switch phase {
        case .read: chunk.readSkips += 1
        case .process: chunk.processSkips += 1
        case .write: chunk.writeSkips += 1
        }
        scope.logger.warning(
            "item skipped", metadata: ["phase": "\(phase.rawValue)", "error": "\(error.batchDescription)"])
        for listener in scope.listeners.skip { await listener.onSkip(skipped, error: error, context: scope.context) }
    }
}

/// The work of one chunk in progress.
@usableFromInline
struct Chunk<Output> {
    @usableFromInline var read = 0
    @usableFromInline var outputs: [Output] = []
    @usableFromInline var skipped: [SkippedItem] = []
    @usableFromInline var readSkips = 0
    @usableFromInline var processSkips = 0
    @usableFromInline var writeSkips = 0

    /// Reserves room for a chunk, up to a bound: a chunk size from the parameters may be huge, and reserving
    /// `Int.max` elements would trap.
    @usableFromInline init(capacity: Int) { outputs.reserveCapacity(min(max(capacity, 0), 4_096)) }

    @usableFromInline mutating func reset() {
        read = 0
        outputs.removeAll(keepingCapacity: true)
        skipped.removeAll()
        readSkips = 0
        processSkips = 0
        writeSkips = 0
    }
}

extension ChunkStep: ParameterCheckingStep {
    /// Resolves the chunk size as the step will (when ``chunkSize(_:)`` reads it from the parameters) and checks
    /// that it is at least 1, so a bad size refuses the start instead of failing the step after the instance and
    /// execution were stored.
    /// - Throws: ``BatchError/Code/invalidParameters``, or what the resolver throws.
    public func checkParameters(_ parameters: JobParameters) throws {
        guard let resolveChunkSize else { return }
        try Self.checkChunkSize(resolveChunkSize(StepContext.parametersOnly(parameters, stepName: name)), step: name)
    }

    @usableFromInline
    static func checkChunkSize(_ size: Int, step: String) throws {
        guard size >= 1 else {
            throw BatchError(.invalidParameters, "chunk step '\(step)': chunk size must be at least 1, got \(size)")
        }
    }
}

extension StepContext {
    /// A context holding only `parameters`, for checking parameter-derived settings before a start: ids are 0,
    /// the execution contexts empty, the repository a throwaway in-memory one, and the logger discards everything.
    static func parametersOnly(_ parameters: JobParameters, stepName: String) -> StepContext {
        let now = Date()
        let job = JobExecution(
            id: 0, instanceId: 0, jobName: "", parameters: parameters, createTime: now, lastUpdated: now)
        return StepContext(
            job: job,
            stepExecution: StepExecution(jobExecutionId: 0, stepName: stepName, startTime: now, lastUpdated: now),
            partitionName: nil, jobContext: JobContextBox(ExecutionContext()), repository: InMemoryJobRepository(),
            resources: JobResources(), stopSignal: StopSignal(),
            logger: Logger(label: "swift-batch.parameters", factory: { _ in SwiftLogNoOpLogHandler() }))
    }
}
