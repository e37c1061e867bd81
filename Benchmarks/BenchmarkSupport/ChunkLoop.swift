import Batch

/// A transaction that does nothing: the loops without a repository hand it to their writers.
public final class NoTransaction: ChunkTransaction {
    /// Creates one.
    public init() {}

    /// Returns `stepExecution` unchanged.
    public func commit(_ stepExecution: StepExecution) async throws -> StepExecution { stepExecution }

    /// Does nothing.
    public func rollback() async {}
}

/// A trivial writer: adds the items up.
public final class SumWriter: ItemWriter, @unchecked Sendable {  // used by one task at a time
    /// The sum of everything written so far (wrapping on overflow).
    public var sum = 0

    /// Creates a writer at 0.
    public init() {}

    /// Adds `items` to ``sum`` (inlinable, as if the benchmark had written it).
    @inlinable
    public func write(_ items: [Int], in transaction: any ChunkTransaction) async throws {
        for item in items { sum &+= item }
    }
}

/// The engine's chunk loop without the engine: reads every item from the opened `reader`, passes it through
/// `processor` and writes what it keeps to `writer` every `chunkSize` items read (and the rest at the end), in
/// `transaction`. Inlinable, so that it is specialised for the benchmark's reader and writer as if written there.
@inlinable
public func plainChunkLoop<Reader: ItemReader, Writer: ItemWriter>(
    _ reader: inout Reader, processor: (Reader.Item) async throws -> Writer.Item?, _ writer: inout Writer,
    chunkSize: Int, in transaction: any ChunkTransaction
) async throws {
    var chunk: [Writer.Item] = []
    chunk.reserveCapacity(chunkSize)
    var read = 0
    while let item = try await reader.read() {
        read += 1
        if let output = try await processor(item) { chunk.append(output) }
        if read % chunkSize == 0 {
            try await writer.write(chunk, in: transaction)
            chunk.removeAll(keepingCapacity: true)
        }
    }
    if !chunk.isEmpty { try await writer.write(chunk, in: transaction) }
}

/// Starts `job` once on `jobOperator` with the parameter `trial` (a new instance each trial) and returns how long
/// the run took; stops the benchmark unless the execution completed.
public func timedRun(of job: String, on jobOperator: JobOperator, trial: Int) async throws -> Duration {
    let start = ContinuousClock.now
    let execution = try await jobOperator.start(job, parameters: JobParameters(["trial": .int(Int64(trial))]))
    let elapsed = ContinuousClock.now - start
    precondition(execution.status == .completed, "benchmark job \(execution.status): \(execution.exitMessage)")
    return elapsed
}
