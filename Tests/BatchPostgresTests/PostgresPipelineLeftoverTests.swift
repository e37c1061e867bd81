import BatchTestKit
import Testing

@testable import BatchPostgres

/// A caller that fails between two pipelined sends must not leave its statements queued on a pooled connection,
/// where the next user's statements would run after them and read their results.
@Suite(.database) struct PostgresPipelineLeftoverTests {
    @Test("a pipeline whose second statement's value cannot be encoded sends nothing")
    func aBadValueFailsThePipelineBeforeAnythingIsSent() async throws {
        let pool = PostgresConnectionPool(
            configuration: try TestDatabase.configuration(poolSize: 1), logger: TestDatabase.logger)
        let connection = try await pool.lease()
        let error = await #expect(throws: PostgresError.self) {
            try await connection.runPipelined([
                PipelinedStatement("SELECT 42 AS n", []),
                PipelinedStatement("SELECT $1::text AS t", [.text("a\u{0}b")]),
            ])
        }
        #expect(error?.code == .invalidParameter)
        #expect(await connection.pipelined.isEmpty, "nothing was queued")
        #expect(connection.isReusable)
        await pool.release(connection)
        let n = try await pool.withConnection { try await $0.query("SELECT 1 AS n").single().decode("n", as: Int.self) }
        #expect(n == 1, "the next user reads its own result")
        await pool.shutdown()
    }

    @Test("a connection released with pipelined statements unread is not handed out again")
    func aConnectionWithUnreadStatementsIsDropped() async throws {
        let pool = PostgresConnectionPool(
            configuration: try TestDatabase.configuration(poolSize: 1), logger: TestDatabase.logger)
        let connection = try await pool.lease()
        let first = await connection.backendProcessID
        try await connection.pipelineSend("SELECT 42 AS n", [], prepared: false, flush: false)
        #expect(!connection.isReusable)
        await pool.release(connection)
        try await pool.withConnection { next in
            #expect(await next.backendProcessID != first, "a new server session")
            let n = try await next.query("SELECT 1 AS n").single().decode("n", as: Int.self)
            #expect(n == 1)
        }
        await pool.shutdown()
    }

    @Test("a COMMIT that fails before it is sent rolls the block back: the session is not left inside it")
    func aFailedCommitLeavesNoOpenTransaction() async throws {
        let connection = PostgresConnection(
            configuration: try TestDatabase.configuration(), logger: TestDatabase.logger)
        await #expect(throws: PostgresError.self) {
            try await connection.withTransaction { connection in
                // Pipelined without a sync: it fails when COMMIT's query reads it, before COMMIT goes out.
                try await connection.pipelineSend("SELECT 1/0", [], prepared: false, flush: false)
            }
        }
        #expect(await !connection.isInTransaction)
        let n = try await connection.query("SELECT 1 AS n").single().decode("n", as: Int.self)
        #expect(n == 1, "the next statement runs outside any block")
        await connection.close()
    }
}
