import Batch
import BatchPostgres
import Foundation
import Testing

/// A row with one value per supported column type.
struct Wide: Sendable {
    var small: Int64? = 1
    var medium: Int64? = 2
    var big: Int64? = 3
    var real: Double? = 1.5
    var flag: Bool? = true
    var text: String? = "t"
    var short: String? = "abc"
    var time: Date? = Date(timeIntervalSince1970: 1_795_000_000.25)
    var document: JSONValue? = ["a": 1]
    var plainJSON: JSONValue? = ["b": [true]]
    var blob: [UInt8]? = [0, 1, 255]
    var amount: String? = "12.50"
    var uuid: String? = "00000000-0000-0000-0000-000000000001"

    var values: [PostgresValue?] {
        [
            small.map { .int($0) }, medium.map { .int($0) }, big.map { .int($0) }, real.map { .double($0) },
            flag.map { .bool($0) }, text.map { .text($0) }, short.map { .text($0) }, time.map { .timestamp($0) },
            document.map { .json($0) }, plainJSON.map { .json($0) }, blob.map { .bytes($0) }, amount.map { .text($0) },
            uuid.map { .text($0) },
        ]
    }
}

@Suite(.database) struct PostgresItemWriterTests {
    static let columns = [
        "small", "medium", "big", "real", "flag", "text", "short", "time", "document", "plain_json", "blob", "amount",
        "uuid",
    ]

    static func withWideTable(_ body: (PostgresJobRepository, String) async throws -> Void) async throws {
        try await TestDatabase.withRepository { repository in
            let table = "\(repository.schema).wide"
            try await repository.pool.withConnection { connection in
                try await connection.query(
                    """
                    CREATE TABLE "\(repository.schema)".wide (
                        small smallint, medium integer, big bigint, real float8, flag boolean, text text,
                        short varchar(5), time timestamptz, document jsonb, plain_json json, blob bytea,
                        amount numeric(10, 2), uuid uuid)
                    """)
            }
            try await body(repository, table)
        }
    }

    static func write(_ rows: [Wide], into table: String, _ repository: PostgresJobRepository) async throws {
        var writer = try PostgresItemWriter<Wide>(table: table, columns: columns) { $0.values }
        let transaction = try await repository.beginChunk()
        do {
            try await writer.write(rows, in: transaction)
            // The inserts went out pipelined: the next statement that waits reports their outcome.
            try await #require(transaction as? PostgresChunkTransaction).connection.query("SELECT 1")
        } catch {
            await transaction.rollback()
            throw error
        }
        await transaction.rollback()  // the tests below read inside their own statements before this point
    }

    @Test func writesEveryColumnTypeAndNullsInBinaryOrText() async throws {
        try await Self.withWideTable { repository, table in
            var hostile = Wide()
            hostile.text = "'; DROP TABLE wide; -- \"q\" \\ {a,b} NULL ü 🧪"
            hostile.small = -32_768
            hostile.medium = Int64(Int32.max)
            hostile.big = Int64.min
            hostile.real = -.infinity
            hostile.document = ["quote": "it's \"x\"", "n": 2.5]
            let allNull = Wide(
                small: nil, medium: nil, big: nil, real: nil, flag: nil, text: nil, short: nil, time: nil,
                document: nil, plainJSON: nil, blob: nil, amount: nil, uuid: nil)
            var writer = try PostgresItemWriter<Wide>(table: table, columns: Self.columns) { $0.values }
            let transaction = try await repository.beginChunk()
            try await writer.write([Wide(), hostile, allNull], in: transaction)
            let connection = try #require(transaction as? PostgresChunkTransaction).connection
            let rows = try await connection.query(
                """
                SELECT small, medium, big, real, flag, text, short, time, document, plain_json, blob,
                       amount::text AS amount, uuid::text AS uuid
                  FROM "\(repository.schema)".wide ORDER BY big NULLS LAST
                """)
            #expect(rows.count == 3)
            // big: Int64.min sorts first.
            #expect(try rows[0].decode("text", as: String.self) == hostile.text)
            #expect(try rows[0].decode("small", as: Int.self) == -32_768)
            #expect(try rows[0].decode("medium", as: Int64.self) == Int64(Int32.max))
            #expect(try rows[0].decode("big", as: Int64.self) == .min)
            #expect(try rows[0].decode("real", as: Double.self) == -.infinity)
            #expect(try rows[0].decode("document", as: JSONValue.self) == hostile.document)
            let plain = rows[1]
            #expect(try plain.decode("flag", as: Bool.self))
            #expect(try plain.decode("short", as: String.self) == "abc")
            #expect(try plain.decode("time", as: Date.self) == Date(timeIntervalSince1970: 1_795_000_000.25))
            #expect(try plain.decode("plain_json", as: JSONValue.self) == ["b": [true]])
            #expect(try plain.decode("blob", as: [UInt8].self) == [0, 1, 255])
            #expect(try plain.decode("amount", as: String.self) == "12.50")
            #expect(try plain.decode("uuid", as: String.self) == "00000000-0000-0000-0000-000000000001")
            for column in Self.columns {
                #expect(try rows[2].text(column) == nil, "\(column) of the all-NULL row")
            }
            await transaction.rollback()
        }
    }

    @Test func refusesValuesTheColumnCannotHold() async throws {
        try await Self.withWideTable { repository, table in
            var tooBig = Wide()
            tooBig.small = 40_000
            let overflow = try await #require(throws: PostgresError.self) {
                try await Self.write([tooBig], into: table, repository)
            }
            #expect(overflow.code == .invalidParameter)
            #expect(overflow.message.contains("small"))

            var nul = Wide()
            nul.text = "a\u{0}b"
            let nulError = try await #require(throws: PostgresError.self) {
                try await Self.write([nul], into: table, repository)
            }
            #expect(nulError.message.contains("NUL"))

            var long = Wide()
            long.short = "too long"
            let length = try await #require(throws: PostgresError.self) {
                try await Self.write([long], into: table, repository)
            }
            #expect(length.sqlState == "22001")  // string_data_right_truncation

            var badUUID = Wide()
            badUUID.uuid = "'; DROP TABLE wide; --"
            let uuid = try await #require(throws: PostgresError.self) {
                try await Self.write([badUUID], into: table, repository)
            }
            #expect(uuid.sqlState == "22P02")  // invalid_text_representation
        }
    }

    @Test func copyInLoadsCopyTextAndCountsRows() async throws {
        try await TestDatabase.withConnection { connection in
            try await connection.query("CREATE TEMP TABLE copied (id bigint, note text)")
            var text = PostgresCopyText()
            let notes = ["tab\there", "line\nbreak", "back\\slash", "'; DROP TABLE copied; --", "ü"]
            for (index, note) in notes.enumerated() {
                try text.append(.int(Int64(index) - 2), position: 1)
                try text.append(.text(note), position: 2)
                text.endRow()
            }
            try text.append(.int(99), position: 1)
            try text.append(nil, position: 2)
            text.endRow()
            let copied = try await connection.copyIn("COPY copied (id, note) FROM STDIN", data: text.bytes)
            #expect(copied == notes.count + 1)
            let rows = try await connection.query("SELECT id, note FROM copied ORDER BY id")
            #expect(try rows.map { try $0.decode("id", as: Int64.self) } == [-2, -1, 0, 1, 2, 99])
            #expect(try rows.prefix(5).map { try $0.decode("note", as: String.self) } == notes)
            #expect(try rows[5].decode("note", as: String?.self) == nil)
            // A bad row copies nothing, and the connection stays usable.
            let error = try await #require(throws: PostgresError.self) {
                try await connection.copyIn("COPY copied (id, note) FROM STDIN", data: Array("1\tok\nx\tbad\n".utf8))
            }
            #expect(error.sqlState == "22P02")
            #expect(try await connection.query("SELECT count(*) AS n FROM copied").single().decode("n") == 6)
        }
    }

    @Test(arguments: [true, false])
    func chunkCommitsAreSynchronousUnlessConfiguredOtherwise(synchronous: Bool) async throws {
        var configuration = try TestDatabase.configuration()
        configuration.synchronousChunkCommit = synchronous
        let repository = try PostgresJobRepository(configuration: configuration, logger: TestDatabase.logger)
        try await repository.migrate()
        let transaction = try await repository.beginChunk()
        let connection = try #require(transaction as? PostgresChunkTransaction).connection
        let setting = try await connection.query("SHOW synchronous_commit").single().decode(
            "synchronous_commit", as: String.self)
        #expect(setting == (synchronous ? "on" : "off"))
        await transaction.rollback()
        // SET LOCAL ends with the transaction: the pooled connection is back to the server default.
        let after = try await repository.pool.withConnection { connection in
            try await connection.query("SHOW synchronous_commit").single().decode(
                "synchronous_commit", as: String.self)
        }
        #expect(after == "on")
        try await TestDatabase.dropSchema(configuration)
        await repository.shutdown()
    }
}
