import BatchTestKit
import Foundation
import Testing

@testable import BatchPostgres

/// A database host that vanishes without closing its connections is noticed within about a minute: the socket
/// libpq opens carries the keepalive and user-timeout settings, unless the URL chose others.
@Suite(.database) struct PostgresDeadPeerTests {
    private func socketOption(_ level: Int32, _ name: Int32, of connection: PostgresConnection) async throws -> Int32 {
        try await connection.query("SELECT 1")
        let socket = try #require(await connection.socketDescriptor)
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(socket, level, name, &value, &length) == 0)
        return value
    }

    @Test("a connection's socket probes a silent peer after 30 s and gives up on unacknowledged data after 60 s")
    func theSocketCarriesTheDeadPeerDefaults() async throws {
        let connection = PostgresConnection(
            configuration: try TestDatabase.configuration(), logger: TestDatabase.logger)
        #expect(try await socketOption(SOL_SOCKET, SO_KEEPALIVE, of: connection) == 1)
        #expect(try await socketOption(Int32(IPPROTO_TCP), TCP_KEEPIDLE, of: connection) == 30)
        #expect(try await socketOption(Int32(IPPROTO_TCP), TCP_KEEPINTVL, of: connection) == 10)
        #expect(try await socketOption(Int32(IPPROTO_TCP), TCP_KEEPCNT, of: connection) == 3)
        #expect(try await socketOption(Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, of: connection) == 60_000)
        await connection.close()
    }

    @Test("a keepalive setting in the URL wins over the default")
    func theURLWins() async throws {
        var configuration = try TestDatabase.configuration()
        configuration.options["keepalives_idle"] = "120"
        let connection = PostgresConnection(configuration: configuration, logger: TestDatabase.logger)
        #expect(try await socketOption(Int32(IPPROTO_TCP), TCP_KEEPIDLE, of: connection) == 120)
        await connection.close()
    }
}
