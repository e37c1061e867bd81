import Logging

/// What a ``JobListener`` sees beside the execution: a logger carrying the execution's metadata (`job.name`,
/// `job.execution.id`, `job.instance.id`, the worker) and the job's application resources.
public struct JobListenerContext: Sendable {
    /// A logger with the execution's metadata.
    public let logger: Logger
    /// The application resources of the job (the operator's, with the job's laid over them).
    public let resources: JobResources

    /// Creates a context.
    public init(logger: Logger, resources: JobResources) {
        self.logger = logger
        self.resources = resources
    }

    /// The application resource registered under `key`.
    /// - Throws: ``BatchError/Code/missingResource`` naming the key when none is registered.
    public func resource<Key: ResourceKey>(_ key: Key.Type) async throws -> Key.Value {
        try await resources.resource(key)
    }
}
