import Batch
import Foundation
import Testing

@testable import BatchPostgres

/// One property of every kind the `Encodable` writers map, declared in an order unlike the table's.
struct Posting: Encodable, Sendable {
    enum Kind: String, Encodable, Sendable { case debit, credit }
    struct Detail: Encodable, Sendable {
        var source: String
        var lines: [Int]
    }

    var note: String = "it's \"quoted\" \\ {a,b} ü 🧪"
    var id = UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF")!
    var amount = Decimal(string: "-12345678901234567890.123456789")!
    var bookedAt = Date(timeIntervalSince1970: 1_795_000_000.123_456)
    var valueDate = CalendarDay(year: 2026, month: 11, day: 25)!
    var account: Int = 42
    var line: Int16 = -7
    var ratio: Double = 0.1
    var share: Float = 0.25
    var posted = true
    var tags = ["a", "b"]
    var detail = Detail(source: "feed", lines: [1, 2])
    var kind = Kind.credit
    var huge: UInt64 = .max
    var memo: String? = nil
    var reference: Int? = 9
}

@Suite(.database) struct PostgresEncodableWriterTests {
    enum Writer: String, CaseIterable, Sendable {
        case insert, copyBinary, copyText
    }

    /// Column order differs from the property order on purpose.
    static let table = """
        reference bigint, memo text, huge numeric, kind text, detail jsonb, tags jsonb, posted boolean,
        share float4, ratio float8, line smallint, account integer, value_date date, booked_at timestamptz,
        amount numeric(40, 9), id uuid, note text
        """

    static func withTable<Result>(
        _ definition: String = table, _ body: (PostgresJobRepository, String) async throws -> Result
    ) async throws -> Result {
        try await TestDatabase.withRepository { repository in
            try await repository.pool.withConnection { connection in
                try await connection.query("CREATE TABLE \"\(repository.schema)\".postings (\(definition))")
            }
            return try await body(repository, "\(repository.schema).postings")
        }
    }

    /// Writes `items` with `writer` in a chunk transaction and returns `select` run in it (then rolls back).
    static func write<Item: Encodable & Sendable>(
        _ items: [Item], with writer: Writer, table: String, columns: [String]? = nil,
        _ repository: PostgresJobRepository, select: String
    ) async throws -> PostgresRows {
        let transaction = try await repository.beginChunk()
        do {
            switch writer {
            case .insert:
                var insert = try PostgresItemWriter<Item>(table: table, columns: columns, naming: .snakeCase)
                try await insert.write(items, in: transaction)
            case .copyBinary, .copyText:
                var copy = try PostgresCopyItemWriter<Item>(
                    table: table, columns: columns, naming: .snakeCase,
                    format: writer == .copyText ? .text : .automatic)
                try await copy.write(items, in: transaction)
            }
            let rows = try await #require(transaction as? PostgresChunkTransaction).connection.query(select)
            await transaction.rollback()
            return rows
        } catch {
            await transaction.rollback()
            throw error
        }
    }

    @Test(arguments: Writer.allCases)
    func everyKindOfValueRoundTripsExactly(writer: Writer) async throws {
        try await Self.withTable { repository, table in
            let posting = Posting()
            var empty = Posting()
            empty.reference = nil
            empty.account = 43
            let rows = try await Self.write(
                [posting, empty], with: writer, table: table, repository,
                select: """
                    SELECT note, id::text AS id, amount::text AS amount,
                           (EXTRACT(EPOCH FROM booked_at) * 1000000)::int8 AS micros, value_date::text AS day,
                           value_date, account, line, ratio, share::text AS share, posted, tags, detail, kind,
                           huge::text AS huge, memo, reference, pg_typeof(detail)::text AS detail_type
                      FROM \(table) ORDER BY account
                    """)
            #expect(rows.count == 2)
            let row = rows[0]
            #expect(try row.decode("note", as: String.self) == posting.note)
            #expect(try row.decode("id", as: String.self) == "6f9619ff-8b86-d011-b42d-00c04fc964ff")
            #expect(try row.decode("amount", as: String.self) == "-12345678901234567890.123456789")
            #expect(try row.decode("micros", as: Int64.self) == 1_795_000_000_123_456)
            #expect(try row.decode("day", as: String.self) == "2026-11-25")
            #expect(try row.decode("value_date", as: CalendarDay.self) == posting.valueDate)
            #expect(try row.decode("account", as: Int.self) == 42)
            #expect(try row.decode("line", as: Int.self) == -7)
            #expect(try row.decode("ratio", as: Double.self) == 0.1)
            #expect(try row.decode("share", as: String.self) == "0.25")
            #expect(try row.decode("posted", as: Bool.self))
            #expect(try row.decode("tags", as: JSONValue.self) == ["a", "b"])
            #expect(try row.decode("detail", as: JSONValue.self) == ["source": "feed", "lines": [1, 2]])
            #expect(try row.decode("detail_type", as: String.self) == "jsonb")
            #expect(try row.decode("kind", as: String.self) == "credit")
            #expect(try row.decode("huge", as: String.self) == "18446744073709551615")
            #expect(try row.text("memo") == nil)
            #expect(try row.decode("reference", as: Int.self) == 9)
            #expect(try rows[1].text("reference") == nil, "a nil optional is NULL")
        }
    }

    @Test(arguments: Writer.allCases)
    func aListedSubsetOfColumnsIsWrittenAndTheRestLeftOut(writer: Writer) async throws {
        try await Self.withTable("account integer, note text, booked_at timestamptz") { repository, table in
            let rows = try await Self.write(
                [Posting()], with: writer, table: table, columns: ["note", "account"], repository,
                select: "SELECT account, note, booked_at FROM \(table)")
            #expect(try rows[0].decode("account", as: Int.self) == 42)
            #expect(try rows[0].decode("note", as: String.self) == Posting().note)
            #expect(try rows[0].text("booked_at") == nil)
        }
    }

    @Test(arguments: Writer.allCases)
    func aKeyTheTableLacksIsRefusedByName(writer: Writer) async throws {
        // The table has no column for `reference` (nor most others): the first one missing is named.
        try await Self.withTable("note text, account integer") { repository, table in
            let error = try await #require(throws: PostgresError.self) {
                try await Self.write(
                    [Posting()], with: writer, table: table, repository, select: "SELECT 1")
            }
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("has no column 'id'"), "\(error.message)")
            #expect(error.message.contains("for \(table)"), "\(error.message)")
        }
    }

    @Test func aListedColumnTheItemLacksIsRefusedByName() async throws {
        try await Self.withTable("note text, colour text") { repository, table in
            let error = try await #require(throws: PostgresError.self) {
                try await Self.write(
                    [Posting()], with: .insert, table: table, columns: ["note", "colour"], repository,
                    select: "SELECT 1")
            }
            #expect(error.code == .invalidParameter)
            #expect(error.message.contains("no coding key for the column 'colour'"), "\(error.message)")
        }
    }
}

@Suite struct PostgresRowEncodingTests {
    @Test func snakeCaseNamesColumnsAsSQLWritesThem() {
        let naming = PostgresColumnNaming.snakeCase
        #expect(naming.column(for: "bookedAt") == "booked_at")
        #expect(naming.column(for: "accountID") == "account_id")
        #expect(naming.column(for: "htmlBody") == "html_body")
        #expect(naming.column(for: "line2Total") == "line2_total")
        #expect(naming.column(for: "already_snake") == "already_snake")
        #expect(PostgresColumnNaming.codingKeys.column(for: "bookedAt") == "bookedAt")
    }

    @Test func anItemThatIsNotAStructOrRepeatsAColumnIsRefused() throws {
        let list = #expect(throws: PostgresError.self) { try PostgresRowEncoder(naming: .codingKeys).row(of: [1, 2]) }
        #expect(list?.message.contains("keyed container") == true)
        struct Twice: Encodable {
            var userId = 1
            var user_id = 2
        }
        let twice = #expect(throws: PostgresError.self) { try PostgresRowEncoder(naming: .snakeCase).row(of: Twice()) }
        #expect(twice?.message.contains("'user_id' twice") == true)
    }

    @Test func binaryDatesCountDaysFrom2000() throws {
        let expected: [(Int, Int, Int, Int32)] = [
            (2000, 1, 1, 0), (1999, 12, 31, -1), (2000, 3, 1, 60), (2026, 11, 25, 9825), (9999, 12, 31, 2_921_939),
        ]
        for (year, month, day, days) in expected {
            #expect(try #require(CalendarDay(year: year, month: month, day: day)).daysSince2000 == days)
        }
    }
}
