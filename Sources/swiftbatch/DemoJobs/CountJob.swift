import Batch
import BatchPostgres

extension DemoJobs {
    /// `count`: writes the integers 1…`items` into `batch_demo.count_items`, through the chunk transaction.
    /// Parameters (every number bounded; anything outside refuses the start, nothing stored):
    /// - `items`: 0…10,000,000 (default 1,000);
    /// - `chunkSize`: 1…100,000 (default 100);
    /// - `delayMs`: a pause per item, 0…60,000 (default 0), at most 600,000 per chunk (`delayMs` × `chunkSize`, so that a
    ///   stop is seen within 10 minutes);
    /// - `failAt`: 1…10,000,000, an item at which the instance's first execution fails (a restart passes it);
    /// - `partitions`: 1…64 (default 1). With 1, the chunk step `count` writes everything; above 1, `count` writes
    ///   nothing and the remote partition step `count-partitions` writes that many ranges of 1…`items`
    ///   (``IntegerRangePartitioner``, each range chunked) on any workers of the fleet.
    ///
    /// Only `items` and `partitions` identify the instance... together with any other parameter you add, such as
    /// a run name.
    static let count = Job("count") {
        countStep("count", partitioned: false)
        PartitionStep(
            "count-partitions", partitions: 1,
            partitioner: { _, context in
                // The grid comes from the parameters; with 1 partition the chunk step `count` does the work.
                let partitions = try context.parameters.int("partitions", default: 1, in: CountLimits.partitions)
                let items = try context.parameters.int("items", default: 1_000, in: CountLimits.items)
                guard partitions > 1 else { return [:] }
                return try await IntegerRangePartitioner(first: 1, last: Int64(items))
                    .partition(gridSize: partitions, context: context)
            },
            step: countStep("count-range", partitioned: true)
        )
        .remote()
    }
    .nonIdentifying("chunkSize", "delayMs", "failAt")
    .resource(DemoDatabase.self, make: openDatabase, close: { await $0.shutdown() })
    .validator { parameters in
        _ = try parameters.int("items", default: 1_000, in: CountLimits.items)
        let chunkSize = try parameters.int("chunkSize", default: 100, in: CountLimits.chunkSize)
        let delayMs = try parameters.int("delayMs", default: 0, in: CountLimits.delayMs)
        // A stop is seen between chunks: one chunk may not hold it off for long.
        guard chunkSize * delayMs <= CountLimits.chunkMilliseconds else {
            throw BatchError(
                .invalidParameters,
                "'delayMs' × 'chunkSize' must be at most \(CountLimits.chunkMilliseconds) (a chunk of at most "
                    + "\(CountLimits.chunkMilliseconds / 60_000) minutes between two stop checks), got \(chunkSize * delayMs)"
            )
        }
        _ = try parameters.optionalInt("failAt", in: CountLimits.failAt)
        _ = try parameters.int("partitions", default: 1, in: CountLimits.partitions)
    }

    /// The chunk step writing a range: all of 1…`items` as the job's step `count` when `partitions` is 1 (nothing
    /// otherwise), or its partition's range (``IntegerRangePartitioner/bounds(in:)-(StepContext)``) inside
    /// `count-partitions`.
    static func countStep(_ name: String, partitioned: Bool) -> ChunkStep<CountReader, CountWriter> {
        ChunkStep(
            name, chunkSize: 100,
            reader: { context in
                // failAt applies to the instance's first execution only: remember which one that was.
                if context.jobContext["count.firstExecution"] == nil {
                    context.jobContext["count.firstExecution"] = .int(context.jobExecutionId)
                }
                let first = context.jobContext.int("count.firstExecution") == Int(context.jobExecutionId)
                let items = try context.parameters.int("items", default: 1_000, in: CountLimits.items)
                let partitions = try context.parameters.int("partitions", default: 1, in: CountLimits.partitions)
                var range: ClosedRange<Int>? = partitions == 1 && items > 0 ? 1...items : nil
                if partitioned {
                    let bounds = try IntegerRangePartitioner.bounds(in: context)
                    range = Int(bounds.lowerBound)...Int(bounds.upperBound)
                }
                return CountReader(
                    range: range,
                    failAt: first ? try context.parameters.optionalInt("failAt", in: CountLimits.failAt) : nil,
                    delayMs: try context.parameters.int("delayMs", default: 0, in: CountLimits.delayMs))
            },
            writer: { context in
                CountWriter(
                    pool: try await database(context),
                    insert: try PostgresItemWriter<Int>(
                        table: "\(schema).count_items", columns: ["instance_id", "execution_id", "n"],
                        pool: try await database(context)
                    ) { [instance = context.jobInstanceId, execution = context.jobExecutionId] n in
                        [.int(instance), .int(execution), .int(Int64(n))]
                    })
            }
        )
        .chunkSize { try $0.parameters.int("chunkSize", default: 100, in: CountLimits.chunkSize) }
    }
}

/// The bounds of `count`'s parameters.
enum CountLimits {
    static let items = 0...10_000_000
    static let chunkSize = 1...100_000
    static let delayMs = 0...60_000
    static let failAt = 1...10_000_000
    static let partitions = 1...64
    /// The longest pause one chunk may hold (`delayMs` × `chunkSize`).
    static let chunkMilliseconds = 600_000
}

/// Counts through a range (nothing without one), resuming after the last committed number.
struct CountReader: ItemReader {
    let range: ClosedRange<Int>?
    let failAt: Int?
    let delayMs: Int
    private var next = 1

    init(range: ClosedRange<Int>?, failAt: Int?, delayMs: Int) {
        self.range = range
        self.failAt = failAt
        self.delayMs = delayMs
        self.next = range?.lowerBound ?? 1
    }

    mutating func open(_ context: ExecutionContext) async throws {
        next = context.int("count.next") ?? range?.lowerBound ?? 1
    }

    mutating func read() async throws -> Int? {
        guard let range, next <= range.upperBound else { return nil }
        if next == failAt { throw BatchError(.stepFailed, "failing at item \(next) as asked (failAt)") }
        if delayMs > 0 { try await Task.sleep(for: .milliseconds(delayMs)) }
        defer { next += 1 }
        return next
    }

    func update(_ context: inout ExecutionContext) {
        context["count.next"] = .int(Int64(next))
    }
}

/// Creates the demo table on first use (where the rows go), then inserts.
struct CountWriter: ItemWriter {
    let pool: PostgresConnectionPool
    var insert: PostgresItemWriter<Int>
    private var tableReady = false

    init(pool: PostgresConnectionPool, insert: PostgresItemWriter<Int>) {
        self.pool = pool
        self.insert = insert
    }

    mutating func write(_ items: [Int], in transaction: any ChunkTransaction) async throws {
        if !tableReady {
            // On the demo database, where the rows go (in the chunk transaction when the repository is there too).
            try await pool.withConnection { connection in
                try await connection.withTransaction { connection in try await DemoJobs.createTables(on: connection) }
            }
            tableReady = true
        }
        try await insert.write(items, in: transaction)
    }
}
