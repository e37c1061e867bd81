import Batch
import BatchPostgres
import Foundation

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

    /// The PostgreSQL repository a demo step runs with.
    static func postgres(_ context: StepContext) throws -> PostgresJobRepository {
        guard let repository = context.repository as? PostgresJobRepository else {
            throw BatchError(
                .invalidState,
                "job '\(context.jobName)' writes to PostgreSQL: run it with the database, not --in-memory")
        }
        return repository
    }
}
