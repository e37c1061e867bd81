import Batch
import BatchTestKit
import Testing

@Suite("In-memory repository contract")
struct RepositoryContractTests {
    @Test(arguments: RepositoryContract.cases)
    func contract(_ contractCase: RepositoryContract.Case) async throws {
        try await contractCase.run(InMemoryJobRepository())
    }
}
