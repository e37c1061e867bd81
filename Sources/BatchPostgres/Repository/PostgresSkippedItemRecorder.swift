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
public struct PostgresSkippedItemRecorder: SkippedItemRecorder {
    private let repository: PostgresJobRepository?

    /// Creates a recorder writing to the schema of the repository the step runs with.
    public init() {
        self.repository = nil
    }

    /// Creates a recorder that can also read the records back (``skippedItems(jobExecutionId:)``) from
    /// `repository`. The records still go to the schema of the repository whose chunk transaction carries them.
    public init(repository: PostgresJobRepository) {
        self.repository = repository
    }

    /// Inserts the records on the chunk transaction's connection, pipelined ahead of the chunk's commit.
    ///
    /// - Throws: ``BatchError`` with ``BatchError/Code/invalidState`` when the transaction is not a
    ///   ``PostgresChunkTransaction``; ``PostgresError`` when the values cannot be sent.
    public func record(_ items: [SkippedItem], in transaction: any ChunkTransaction) async throws {
        let transaction = try PostgresChunkTransaction.of(transaction, writer: "PostgresSkippedItemRecorder")
        let insert = """
            INSERT INTO \(transaction.repository.quoted).skipped_items
                (job_name, job_execution_id, step_name, phase, item, reason, skipped_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """
        for item in items {
            let values: [PostgresValue?] = [
                .text(item.jobName), .int(item.jobExecutionId), .text(item.stepName), .text(item.phase.rawValue),
                item.item.map { .json($0) }, .text(Self.storable(item.reason)), .timestamp(item.time),
            ]
            let encoded = try values.enumerated().map { position, value in
                try value.map {
                    PostgresEncodedParameter.text(try $0.textEncoding(position: position + 1), typeOID: $0.typeOID)
                }
            }
            try await transaction.connection.pipelineSend(insert, encoded, prepared: true)
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

    /// The reason as PostgreSQL text can hold it (a NUL would be refused and fail the chunk).
    private static func storable(_ reason: String) -> String {
        reason.contains("\u{0}") ? reason.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : reason
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
