import Synchronization

extension ChunkStep {
    /// Returns this step reading (and processing) the next chunk while the current one is written and committed,
    /// so the reader's source and the writer's target work at the same time instead of taking turns: a CSV file
    /// parsed while the database commits the previous chunk, a service called while the last answers are stored.
    ///
    /// The checkpoint committed with a chunk is still the reader's position at the end of *that* chunk (taken before
    /// the next one is read), so a restart resumes right after the last committed chunk and nothing is lost or
    /// written twice. A chunk read ahead when the step stops or fails is dropped and read again by the restart.
    ///
    /// What changes: the reader and the processor run beside the previous chunk's writer and commit (in another
    /// task, never two reads at once), and the step context a chunk saves is the one at the end of its own read —
    /// changes the processor makes while the next chunk is read are saved with that next chunk. Reading ahead needs
    /// a step without a skip or retry policy and without chunk listeners (whose calls must stay in order around each
    /// chunk); a step with either reads one chunk after the other as before.
    ///
    /// Each chunk is also written in a transaction of its own while the previous chunk's commit completes (so the
    /// commit's wait for the disk overlaps the next write); the step execution a chunk commits is computed once the
    /// commit before it returned, so counts and checkpoints are stored in order. Three consequences: a step holds
    /// two repository connections at once (one writing, one committing); a chunk's writes do not see the rows of
    /// the chunk before it, not committed yet (a writer that looks up what the previous chunk wrote needs one chunk
    /// after the other); and a stop is seen one chunk later — the chunk being written when it is seen commits.
    ///
    /// A writer with a ``ItemWriter/preparation()`` (`PostgresCopyItemWriter` encoding rows, say) has the next
    /// chunk prepared in the read-ahead task too, right after it is read.
    public func readAhead(_ enabled: Bool = true) -> Self {
        var copy = self
        copy.readsAhead = enabled
        return copy
    }

    /// Whether this execution reads ahead: asked for, and nothing that needs chunks taken one at a time.
    @inlinable
    func readsAheadNow(_ scope: StepScope) -> Bool {
        readsAhead && !faultTolerance.isEnabled && scope.listeners.chunk.isEmpty
    }

    /// The chunk loop reading ahead: chunk N+1 is read in a task of its own while chunk N is written, and chunk N is
    /// written in a transaction of its own while chunk N-1's commit completes. The reader moves into a box the two
    /// tasks take turns with, and back into `reader` before this returns or throws, the read-ahead task always
    /// awaited first; a commit in flight is always awaited before anything else is decided.
    ///
    /// Chunk N's step execution is computed only once chunk N-1's commit has returned, so each commit stores the
    /// counts and checkpoint of everything committed before it, in order, as one chunk after the other would. Chunk
    /// N's writes are completed (``ChunkTransaction/completeWrites()``) before its commit starts: only a step update
    /// and `COMMIT` ever run beside the next chunk's writes.
    @inlinable
    func runChunksReadingAhead(
        _ scope: StepScope, _ chunkSize: Int, _ reader: inout Reader, _ writer: inout Writer
    ) async throws -> BatchStatus {
        let observation = scope.observation
        let box = ReadAheadBox<Reader, Writer.Item>(reader)
        defer { reader = box.reader }
        if try await scope.stopRequested() { return .stopped }
        // The read in flight, cancelled with the step's task (a read-ahead task is not the step's child).
        let pending = ReadAheadHandle()
        pending.start(readTask(box, chunkSize, scope.context, writer.preparation()))
        var number = 1
        var timing = observation.chunkStarted(number: number)
        var committing: CommitInFlight<Writer.Item>?
        /// Ends a chunk that failed and counts its rollback.
        func failed(_ chunk: StepObservation.ChunkTiming, _ error: any Error) {
            observation.chunkFailed(chunk, error)
            scope.execution.counters.rollback += 1
        }
        /// Drops the chunk being read ahead, if any (the restart reads it again).
        func dropReadAhead() async {
            if await pending.abandon() { _ = observation.chunkEnded(timing, committed: false, read: 0) }
        }
        /// Awaits the commit in flight and takes it in (or counts its failure and throws it).
        func settle() async throws {
            guard let commit = committing else { return }
            committing = nil
            do {
                let stored = try await commit.task.value
                committed(scope, commit.chunk, written: commit.chunk.outputs.count, stored: stored, commit.transaction)
            } catch {
                failed(commit.timing, error)
                throw error
            }
            if observation.chunkEnded(commit.timing, committed: true, read: commit.chunk.read) {
                observation.reportProgress(scope.execution.counters, reader: commit.progress)
            }
        }
        return try await withTaskCancellationHandler {
            do {
                while true {
                    do {
                        try await pending.finish()
                    } catch let readError {
                        // A failed commit of the chunk before is the step's error; else this read's.
                        do {
                            try await settle()
                        } catch {
                            observation.chunkFailed(timing, readError)
                            throw error
                        }
                        failed(timing, readError)
                        throw readError
                    }
                    let taken = box.take()
                    let chunk = taken.chunk
                    let end = taken.end
                    let current = timing
                    if !end.exhausted {
                        number += 1
                        timing = observation.chunkStarted(number: number)
                        pending.start(readTask(box, chunkSize, scope.context, writer.preparation()))
                    }
                    // Write this chunk in its transaction while the previous chunk's commit completes.
                    var transaction: (any ChunkTransaction)?
                    var writeError: (any Error)?
                    if chunk.read > 0 {
                        do {
                            let opened = try await scope.repository.beginChunk()
                            transaction = opened
                            if let prepared = taken.prepared, prepared.count == chunk.outputs.count {
                                try await writer.write(chunk.outputs, prepared: prepared, in: opened)
                            } else if !chunk.outputs.isEmpty {
                                try await writer.write(chunk.outputs, in: opened)
                            }
                            // Only the step update and COMMIT may overlap the next chunk's write, never a write.
                            try await opened.completeWrites()
                        } catch {
                            writeError = error
                        }
                    }
                    do {
                        try await settle()
                    } catch {
                        await transaction?.rollback()
                        _ = observation.chunkEnded(current, committed: false, read: 0)
                        throw error
                    }
                    if let writeError {
                        await transaction?.rollback()
                        failed(current, writeError)
                        throw writeError
                    }
                    if let transaction {
                        let next = Self.nextExecution(
                            scope, chunk, written: chunk.outputs.count, writer, checkpoint: end.checkpoint)
                        committing = CommitInFlight(
                            task: Task { try await transaction.commit(next) }, transaction: transaction,
                            chunk: chunk, timing: current, progress: end.progress)
                    } else {
                        _ = observation.chunkEnded(current, committed: false, read: 0)
                    }
                    if end.exhausted {
                        try await settle()
                        return .completed
                    }
                    if try await scope.stopRequested() {
                        // The chunk written commits; the one read ahead is dropped.
                        await dropReadAhead()
                        try await settle()
                        return .stopped
                    }
                }
            } catch {
                // The reader must be back in its box before it is closed; a chunk read ahead is dropped. A commit
                // still in flight is awaited: the step execution must say what was stored.
                await dropReadAhead()
                try? await settle()
                throw error
            }
        } onCancel: {
            pending.cancel()
        }
    }

    /// Starts reading and processing the next chunk into `box`, then preparing it for the writer when it offers a
    /// `preparation`.
    @inlinable
    func readTask(
        _ box: ReadAheadBox<Reader, Writer.Item>, _ chunkSize: Int, _ context: StepContext,
        _ preparation: ChunkPreparation<Writer.Item>?
    ) -> Task<Void, any Error> {
        Task {
            var chunk = Chunk<Writer.Item>(capacity: chunkSize)
            var exhausted = false
            while chunk.read < chunkSize {
                try Task.checkCancellation()
                guard let item = try await box.reader.read() else {
                    exhausted = true
                    break
                }
                chunk.read += 1
                if let output = try await process(item, context) { chunk.outputs.append(output) }
            }
            // The position this chunk commits, before the next chunk moves the reader on.
            var checkpoint = context.stepContext
            box.reader.update(&checkpoint)
            let progress = (box.reader as? any ProgressReportingReader).map { ReaderProgress(progress: $0.progress) }
            let prepared = chunk.outputs.isEmpty ? nil : preparation?.prepare(chunk.outputs)
            box.put(chunk, ReadAheadEnd(exhausted: exhausted, checkpoint: checkpoint, progress: progress), prepared)
        }
    }
}

/// The read-ahead task in flight, if any. The step's task starts and awaits it; a cancellation of the step's task
/// (from any thread) cancels it too.
@usableFromInline
final class ReadAheadHandle: Sendable {
    private let task = Mutex<Task<Void, any Error>?>(nil)

    @inlinable
    init() {}

    /// Holds `read` as the read in flight (cancelled at once if the calling task, the step's, already is).
    @usableFromInline
    func start(_ read: Task<Void, any Error>) {
        task.withLock { $0 = read }
        if Task.isCancelled { read.cancel() }
    }

    /// Waits for the read in flight to end and lets it go; throws what it threw.
    @usableFromInline
    func finish() async throws {
        guard let read = task.withLock({ $0 }) else { return }
        defer { task.withLock { $0 = nil } }
        try await read.value
    }

    /// Cancels the read in flight and waits for it to end, so nothing touches the reader after this returns.
    /// - Returns: whether a read was in flight.
    @usableFromInline
    func abandon() async -> Bool {
        guard
            let read = task.withLock({ current in
                defer { current = nil }; return current
            })
        else { return false }
        read.cancel()
        _ = try? await read.value
        return true
    }

    /// Cancels the read in flight, if any.
    @usableFromInline
    func cancel() { task.withLock { $0 }?.cancel() }
}

/// How a chunk's read ahead ended: whether the input ended, the step context with the reader's position at the
/// chunk's end, and the reader's progress then.
@usableFromInline
struct ReadAheadEnd {
    @usableFromInline var exhausted: Bool
    @usableFromInline var checkpoint: ExecutionContext
    @usableFromInline var progress: ReaderProgress?

    @inlinable
    init(exhausted: Bool, checkpoint: ExecutionContext, progress: ReaderProgress?) {
        self.exhausted = exhausted
        self.checkpoint = checkpoint
        self.progress = progress
    }
}

/// A reader's progress as it was when a chunk's read ended.
@usableFromInline
struct ReaderProgress: ProgressReportingReader {
    @usableFromInline let progress: (done: Int64, total: Int64)?

    @inlinable
    init(progress: (done: Int64, total: Int64)?) { self.progress = progress }
}

/// The reader and the chunk it last read (with what the writer's preparation made of it), handed between the step's
/// task and the task reading ahead. They take turns: the step starts a read only after taking the previous chunk,
/// and takes a chunk only after awaiting the read that put it there (task completion orders the accesses), so no
/// lock is needed.
@usableFromInline
final class ReadAheadBox<Reader, Output>: @unchecked Sendable {
    @usableFromInline var reader: Reader
    @usableFromInline var read: (chunk: Chunk<Output>, end: ReadAheadEnd, prepared: PreparedChunk?)?

    @inlinable
    init(_ reader: Reader) { self.reader = reader }

    @inlinable
    func put(_ chunk: Chunk<Output>, _ end: ReadAheadEnd, _ prepared: PreparedChunk?) {
        read = (chunk, end, prepared)
    }

    @inlinable
    func take() -> (chunk: Chunk<Output>, end: ReadAheadEnd, prepared: PreparedChunk?) {
        defer { read = nil }
        return read!
    }
}

/// A chunk's commit running while the next chunk is written: the commit's task, its transaction, the chunk (for its
/// counts) and its timing and reader progress, taken in once the commit returns.
@usableFromInline
struct CommitInFlight<Output> {
    @usableFromInline let task: Task<StepExecution, any Error>
    @usableFromInline let transaction: any ChunkTransaction
    @usableFromInline let chunk: Chunk<Output>
    @usableFromInline let timing: StepObservation.ChunkTiming
    @usableFromInline let progress: ReaderProgress?

    @inlinable
    init(
        task: Task<StepExecution, any Error>, transaction: any ChunkTransaction, chunk: Chunk<Output>,
        timing: StepObservation.ChunkTiming, progress: ReaderProgress?
    ) {
        self.task = task
        self.transaction = transaction
        self.chunk = chunk
        self.timing = timing
        self.progress = progress
    }
}
