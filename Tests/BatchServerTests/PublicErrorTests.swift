import Batch
import Testing

@testable import BatchServer

/// A server-side failure's details go to the log, not to the client.
@Suite struct PublicErrorTests {
    @Test func aDatabaseFailureNamesNoHostOrUser() {
        let detail =
            #"connection to server at "db.internal" (10.0.0.5), port 5432 failed: password authentication failed for user "batch""#
        for error in [
            BatchError(.repositoryFailure, "could not list job executions: " + detail), BatchError(.stepFailed, detail),
        ]
            as [any Error] + [PlainFailure(text: detail)]
        {
            let answer = APIError.publicAnswer(to: error, APIError.from(error))
            #expect(answer.status.code >= 500)
            #expect(!answer.message.contains("db.internal") && !answer.message.contains("10.0.0.5"), "\(answer)")
            #expect(!answer.message.contains("batch"), "\(answer)")
        }
        // What a handler worded for clients, and every refusal, is answered as it is.
        let worded = APIError(.badGateway, "no worker answered within 30 s")
        #expect(APIError.publicAnswer(to: worded, worded).message == worded.message)
        let refusal = BatchError(.jobNotFound, "no job named 'x' is registered")
        #expect(APIError.publicAnswer(to: refusal, APIError.from(refusal)).message == refusal.message)
    }

    struct PlainFailure: Error, CustomStringConvertible {
        let text: String
        var description: String { text }
    }
}
