// Stands in for Sources/Batch/Repository/JobRepository.swift in the fuzz build: the file readers and writers name
// `ChunkTransaction` only in `ItemWriter.write(_:in:)`, and the real file drags in the job records, the parameters
// and swift-crypto.

/// The transaction a chunk is written in; the fuzz build never runs a chunk, so it needs no requirements.
public protocol ChunkTransaction: AnyObject, Sendable {}
