import Batch
import BatchPostgres
import Foundation
import Testing

/// What `isTransient` says of each kind of PostgreSQL error: only a failed way to the server (or a server asking to
/// be asked again) is worth retrying.
@Suite struct PostgresErrorTransienceTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var error: PostgresError
        var transient: Bool
        var testDescription: String {
            "\(error.code) \(error.sqlState ?? "-") → \(transient ? "transient" : "permanent")"
        }
    }

    static func server(_ sqlState: String) -> PostgresError {
        PostgresError(.server, "refused", sqlState: sqlState, severity: "ERROR")
    }

    static let cases: [Case] = [
        // The way to the server.
        Case(error: PostgresError(.connectionLost, "server closed the connection unexpectedly"), transient: true),
        Case(error: PostgresError(.connectionFailed, "Connection refused"), transient: true),
        Case(error: PostgresError(.connectionFailed, "timeout expired"), transient: true),
        Case(
            error: PostgresError(.transactionAborted, "the connection broke inside this transaction"), transient: true),
        Case(error: server("08006"), transient: true),  // connection_failure
        Case(error: server("08001"), transient: true),  // sqlclient_unable_to_establish_sqlconnection
        Case(error: server("57P01"), transient: true),  // admin_shutdown
        Case(error: server("57P02"), transient: true),  // crash_shutdown
        Case(error: server("57P03"), transient: true),  // cannot_connect_now
        Case(error: server("53300"), transient: true),  // too_many_connections
        Case(error: server("53200"), transient: true),  // out_of_memory
        Case(error: server("40001"), transient: true),  // serialization_failure
        Case(error: server("40P01"), transient: true),  // deadlock_detected
        Case(error: server("55P03"), transient: true),  // lock_not_available
        Case(error: server("58030"), transient: true),  // io_error
        // What the server refuses, and what fails the same way every time.
        Case(error: server("22021"), transient: false),  // character_not_in_repertoire (invalid byte sequence)
        Case(error: server("22P02"), transient: false),  // invalid_text_representation (invalid jsonb)
        Case(error: server("22003"), transient: false),  // numeric_value_out_of_range
        Case(error: server("23505"), transient: false),  // unique_violation
        Case(error: server("23503"), transient: false),  // foreign_key_violation
        Case(error: server("42601"), transient: false),  // syntax_error
        Case(error: server("42P01"), transient: false),  // undefined_table
        Case(error: server("42501"), transient: false),  // insufficient_privilege
        Case(error: server("28P01"), transient: false),  // invalid_password
        Case(error: server("53400"), transient: false),  // configuration_limit_exceeded
        Case(error: server("57014"), transient: false),  // query_canceled (statement_timeout)
        Case(error: server("XX000"), transient: false),  // internal_error
        Case(error: PostgresError(.server, "no SQLSTATE"), transient: false),
        Case(
            error: PostgresError(.connectionFailed, "password authentication failed", sqlState: "28P01"),
            transient: false),
        Case(error: PostgresError(.connectionFailed, "role does not exist", sqlState: "28000"), transient: false),
        Case(error: PostgresError(.connectionFailed, "database does not exist", sqlState: "3D000"), transient: false),
        Case(error: PostgresError(.connectionFailed, "too many clients", sqlState: "53300"), transient: true),
        Case(error: PostgresError(.invalidParameter, "a string holding NUL"), transient: false),
        Case(error: PostgresError(.decoding, "not an integer"), transient: false),
        Case(error: PostgresError(.invalidConfiguration, "invalid sslmode value"), transient: false),
        Case(error: PostgresError(.unexpectedResult, "no row"), transient: false),
        Case(error: PostgresError(.closed, "the connection was closed"), transient: false),
        Case(error: PostgresError(.poolShutDown, "the pool was shut down"), transient: false),
    ]

    @Test(arguments: cases) func classifiesByWhatTheErrorIs(_ example: Case) {
        #expect(example.error.isTransient == example.transient)
        // Through `any Error`, and under a BatchError as the repository wraps it.
        let erased: any Error = example.error
        #expect(erased.isTransient == example.transient)
        let wrapped = BatchError(.repositoryFailure, "could not do it: \(example.error)", underlying: example.error)
        #expect(wrapped.isTransient == example.transient)
    }
}

/// Errors the real server produces come out classified as they should.
@Suite(.database) struct PostgresErrorTransienceServerTests {
    @Test func valuesTheServerRefusesArePermanent() async throws {
        try await TestDatabase.withConnection { connection in
            let nul = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT $1::text", [.text("a\u{0}b")])
            }
            #expect(nul.code == .invalidParameter)
            #expect(!nul.isTransient)

            let json = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT $1::jsonb", [.text("{not json")])
            }
            #expect(json.sqlState == "22P02")
            #expect(!json.isTransient)

            let range = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT $1::int8::int2", [.int(100_000)])
            }
            #expect(range.sqlState == "22003")
            #expect(!range.isTransient)

            let syntax = try await #require(throws: PostgresError.self) { try await connection.query("SELEC 1") }
            #expect(!syntax.isTransient)

            // A COMMIT answered with ROLLBACK (a statement in the transaction failed) fails again if retried.
            let rolledBack = try await #require(throws: PostgresError.self) {
                try await connection.withTransaction { connection in
                    _ = try? await connection.query("SELECT 1/0")
                }
            }
            #expect(rolledBack.code == .transactionAborted)
            #expect(!rolledBack.isTransient)
        }
    }

    @Test func aStatementCutOffByATerminatedSessionIsTransient() async throws {
        try await TestDatabase.withConnection { connection in
            let pid = try #require(await connection.backendProcessID)
            let killer = Task {
                try await Task.sleep(for: .milliseconds(300))
                try await TestDatabase.withConnection { other in
                    try await other.query("SELECT pg_terminate_backend($1::int4)", [.int(Int64(pid))])
                }
            }
            // Long enough that the session is surely terminated while the statement runs, however slowly the
            // killer gets going on a busy machine; the test takes as long as the killer needs.
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT pg_sleep(60)")
            }
            try await killer.value
            #expect(error.code == .connectionLost)
            #expect(error.isTransient)
        }
    }

    @Test func theRepositoryWrapsWhatItCannotStoreAsAPermanentRepositoryFailure() async throws {
        try await TestDatabase.withRepository { repository in
            // Parameters are the instance's identity: one with a NUL is refused, not altered (an exit message or a
            // context is stored with U+FFFD instead, see PostgresUnstorableTextTests).
            let parameters = JobParameters(["name": "bad\u{0}name"])
            let error = try await #require(throws: BatchError.self) {
                _ = try await repository.createJobExecution(
                    jobName: "j", jobKey: parameters.instanceKey, parameters: parameters, workerId: nil)
            }
            #expect(error.code == .repositoryFailure)
            #expect((error.underlying as? PostgresError)?.code == .invalidParameter)
            #expect(!error.isTransient)
        }
    }
}
