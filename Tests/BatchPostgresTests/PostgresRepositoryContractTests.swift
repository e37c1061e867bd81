import Batch
import BatchPostgres
import BatchTestKit
import Testing

/// The engine's repository behaviour suite, unchanged, against PostgreSQL (a fresh schema per case).
@Suite("PostgreSQL repository contract", .database)
struct PostgresRepositoryContractTests {
    @Test(arguments: RepositoryContract.cases)
    func contract(_ contractCase: RepositoryContract.Case) async throws {
        try await TestDatabase.withRepository { repository in
            try await contractCase.run(repository)
        }
    }
}
