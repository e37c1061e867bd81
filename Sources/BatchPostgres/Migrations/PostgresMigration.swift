/// One numbered schema change: its statements run in one transaction and its version is recorded in
/// `<schema>.schema_migrations`.
public struct PostgresMigration: Sendable, Hashable {
    /// The migration's number; migrations run in ascending order, each once.
    public let version: Int
    /// A short description, stored with the version.
    public let name: String
    /// The statements, run one by one (each through `PQexecParams`, without parameters).
    public let statements: [String]

    /// Creates a migration.
    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}
