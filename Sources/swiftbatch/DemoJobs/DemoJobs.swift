import Batch
import BatchPostgres
import BatchWorker
import Foundation
import Logging

/// The demo jobs of the `swiftbatch` executable. Their names are fixed: the tests and the README use them.
enum DemoJobs {
    static var all: [Job] { [hello, count, dailyAccounting] }

    /// The schema the demo jobs write their tables in: `BATCH_DEMO_SCHEMA`, default `batch_demo`.
    static let schema: String = {
        let name = ProcessInfo.processInfo.environment["BATCH_DEMO_SCHEMA"] ?? ""
        // A configuration value pasted into DDL: only plain lower-case identifiers are accepted.
        let valid =
            name.count <= 63 && name.first?.isLetter == true
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }
        return valid ? name : "batch_demo"
    }()

    /// The demo jobs' own database pool (registered on each job that needs it): a step reaches it through its
    /// context, never through the job repository, so `run --in-memory` (only the repository in memory) works.
    static func database(_ context: StepContext) async throws -> PostgresConnectionPool {
        try await context.resource(DemoDatabase.self)
    }

    /// Opens the demo database pool: `BATCH_DEMO_DATABASE_URL`, else the batch database the command uses
    /// (``SwiftBatch/databaseConfiguration``: `--database-url`, `BATCH_DATABASE_URL` or the local default). It
    /// lives as long as the process.
    @Sendable static func openDatabase() throws -> PostgresConnectionPool {
        let configuration =
            try PostgresConfiguration.fromEnvironment("BATCH_DEMO_DATABASE_URL") ?? SwiftBatch.databaseConfiguration
        return PostgresConnectionPool(configuration: configuration, logger: Logger(label: "swiftbatch.demo"))
    }
}

/// The demo jobs' application database: the key their steps read the pool with.
enum DemoDatabase: ResourceKey {
    typealias Value = PostgresConnectionPool
}
