import Batch

/// Records the items a chunk step skipped in the `<schema>.skipped_items` table (migration 2), inside the chunk's
/// transaction: the records commit with the chunk that skipped them, exactly once, and vanish with it when it rolls
/// back.
///
/// ```swift
/// ChunkStep("load", chunkSize: 1_000, reader: { ... }, writer: { ... })
///     .skip(SkipPolicy(limit: 100))
///     .recordSkippedItems(PostgresSkippedItemRecorder())
/// ```
/// It needs no repository at definition time: the records go to the schema of the repository whose chunk
/// transaction carries them. An operator reads them back with ``PostgresJobRepository/skippedItems(jobExecutionId:)``
/// or SQL (`SELECT * FROM batch.skipped_items WHERE job_execution_id = $1 ORDER BY id`).
///
/// Given the application's own pool (``init(pool:)``), it also records the skips of a step that runs with another
/// repository (the ``InMemoryJobRepository`` of `run --in-memory`), in a transaction of its own: see there.
public struct PostgresSkippedItemRecorder: SkippedItemRecorder {
    private let repository: PostgresJobRepository?
    private let target: PostgresWriteConnection
    /// The quoted schema of the pool given to ``init(pool:)``, for records written outside a chunk transaction.
    private let schema: String

    /// Creates a recorder writing to the schema of the repository the step runs with.
    public init() {
        self.repository = nil
        self.target = PostgresWriteConnection(writer: "PostgresSkippedItemRecorder", pool: nil)
        self.schema = ""
    }

    /// Creates a recorder that can also read the records back (``skippedItems(jobExecutionId:)``) from
    /// `repository`. The records still go to the schema of the repository whose chunk transaction carries them.
    public init(repository: PostgresJobRepository) {
        self.repository = repository
        self.target = PostgresWriteConnection(writer: "PostgresSkippedItemRecorder", pool: nil)
        self.schema = ""
    }

    /// Creates a recorder that records in the chunk transaction when it is a ``PostgresChunkTransaction`` on `pool`'s
    /// database (same host, port and database name), exactly once, as ``init()`` does; otherwise (an
    /// ``InMemoryJobRepository``, a repository on another database) in `<schema>.skipped_items` on `pool`, the schema
    /// of `pool`'s configuration (`BATCH_DATABASE_SCHEMA`, `batch` by default), in a transaction of its own
    /// committed just before the chunk's checkpoint. The table comes with the schema's migrations (`migrate` on that
    /// database).
    ///
    /// A crash between that commit and the checkpoint records the chunk's skips twice when the job restarts from
    /// the previous checkpoint (an in-memory repository restarts nothing across processes); a chunk that fails
    /// after its skips were recorded records them again when it is written again.
    ///
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/invalidConfiguration`` when the pool's schema is not a
    ///   valid name.
    public init(pool: PostgresConnectionPool) throws {
        self.repository = nil
        self.target = PostgresWriteConnection(writer: "PostgresSkippedItemRecorder", pool: pool)
        self.schema = try pool.configuration.quotedSchema()
    }

    /// Inserts the records on the chunk transaction's connection, pipelined ahead of the chunk's commit; or, for a
    /// recorder made with ``init(pool:)`` and a chunk transaction that is not a PostgreSQL one on its database, in a
    /// transaction of their own on the pool.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when the transaction is not a
    ///   ``PostgresChunkTransaction`` and no pool was given; ``PostgresError`` when the values cannot be sent.
    public func record(_ items: [SkippedItem], in transaction: any ChunkTransaction) async throws {
        guard !items.isEmpty else { return try target.check(transaction) }
        try await target.write(in: transaction) { connection, chunk in
            try await insert(items, into: chunk?.repository.quoted ?? schema, on: connection)
        }
    }

    /// Sends the records' inserts on `connection`, pipelined; the transaction's commit reads their outcome.
    private func insert(_ items: [SkippedItem], into schema: String, on connection: PostgresConnection) async throws {
        let insert = """
            INSERT INTO \(schema).skipped_items
                (job_name, job_execution_id, step_name, phase, item, reason, skipped_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """
        for item in items {
            let values: [PostgresValue?] = [
                .text(item.jobName), .int(item.jobExecutionId), .text(item.stepName), .text(item.phase.rawValue),
                item.item.map { .json($0.storableInPostgres) }, .text(item.reason.storableInPostgres),
                .timestamp(item.time),
            ]
            let encoded = try values.enumerated().map { position, value in
                try value.map {
                    PostgresEncodedParameter.text(try $0.textEncoding(position: position + 1), typeOID: $0.typeOID)
                }
            }
            try await connection.pipelineSend(insert, encoded, prepared: true)
        }
    }

    /// The skipped items recorded for a job execution, in the order they were recorded, read from the repository
    /// given to ``init(repository:)``.
    /// - Throws: ``BatchError/Code/invalidState`` when the recorder was made without one (use
    ///   ``PostgresJobRepository/skippedItems(jobExecutionId:)``).
    public func skippedItems(jobExecutionId: Int64) async throws -> [SkippedItem] {
        guard let repository else {
            throw BatchError(
                .invalidState, "this recorder has no repository to read from: use PostgresJobRepository.skippedItems")
        }
        return try await repository.skippedItems(jobExecutionId: jobExecutionId)
    }
}

extension PostgresJobRepository {
    /// The skipped items recorded for a job execution, in the order they were recorded.
    public func skippedItems(jobExecutionId: Int64) async throws -> [SkippedItem] {
        let rows = try await select(
            """
            SELECT job_name, job_execution_id, step_name, phase, item::text AS item, reason, skipped_at
              FROM \(quoted).skipped_items WHERE job_execution_id = $1 ORDER BY id
            """, [.int(jobExecutionId)])
        return try rows.map { row in
            let phase = try row.decode("phase", as: String.self)
            guard let parsed = SkippedItem.Phase(rawValue: phase) else {
                throw PostgresError(.decoding, "unknown skip phase '\(phase)' in the database")
            }
            return SkippedItem(
                jobName: try row.decode("job_name"), jobExecutionId: try row.decode("job_execution_id"),
                stepName: try row.decode("step_name"), phase: parsed,
                item: try row.decode("item", as: String?.self).map {
                    try JSONValue(parsing: $0, largeIntegers: .nearestDouble)
                },
                reason: try row.decode("reason"), time: try row.decode("skipped_at"))
        }
    }
}
