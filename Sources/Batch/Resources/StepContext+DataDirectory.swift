extension StepContext {
    /// The directory this step keeps its files in: the ``DataDirectory`` registered as a resource by its type
    /// (``Job/resource(_:)``, or ``JobResources/set(_:)`` on the operator), else the process's
    /// (``DataDirectory/fromEnvironment(_:)``, `BATCH_DATA_DIR`).
    /// - Throws: what ``DataDirectory/fromEnvironment(_:)`` throws.
    public var dataDirectory: DataDirectory {
        get async throws {
            if resources.contains(TypeResourceKey<DataDirectory>.self) {
                return try await resources.resource(ofType: DataDirectory.self)
            }
            return try DataDirectory.fromEnvironment()
        }
    }
}
