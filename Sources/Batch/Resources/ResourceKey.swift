/// Names an application resource a step reaches through its context — a connection pool (to the application's
/// own database, which may not be the job repository's), a data directory, a client — with the type of its value.
///
/// ```swift
/// enum LedgerDatabase: ResourceKey { typealias Value = PostgresConnectionPool }
///
/// let job = Job("daily") { Step("load") { context in
///     let pool = try await context.resource(LedgerDatabase.self)
///     ...
/// } }
/// .resource(LedgerDatabase.self) { try await PostgresConnectionPool(configuration: .fromEnvironment()) }
/// ```
/// Register a value or a factory on the ``Job`` (``Job/resource(_:_:)``, ``Job/resource(_:make:close:)``) or on the
/// ``JobOperator`` (its `resources:`, shared by all its jobs); the job's registration wins. Nothing is found by
/// downcasting the repository, so a job using resources runs the same over an in-memory repository.
public protocol ResourceKey: SendableMetatype {
    /// The type of the resource.
    associatedtype Value: Sendable
}

/// The key of a resource registered by its type alone (``JobResources/set(_:)``).
enum TypeResourceKey<Value: Sendable>: ResourceKey {}
