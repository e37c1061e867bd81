import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

/// `CSVReader(path:map:)`: items made from `CSVRecord`s by a closure, against the `Decodable` path.
@Suite("CSV records mapped by a closure")
struct CSVRecordMappingTests {
    /// A `Trade` made field by field from a record.
    static let trade: @Sendable (CSVRecord) throws -> Trade = { record in
        Trade(
            id: try record.decode(Int.self, "id"), symbol: try record.decode(String.self, "symbol"),
            note: try record.decode(String.self, "note"), price: try record.decode(Double.self, "price"),
            comment: try record.decodeIfPresent(String.self, "comment"))
    }

    /// Writes `trades` with a header naming every column (the first trade's comment is nil).
    static func write(_ trades: [Trade], to path: String, format: CSVFormat = .csv) async throws {
        var named = format
        named.columns = ["id", "symbol", "note", "price", "comment"]
        let columns = named
        let written = try await writeWithJob(trades) { CSVWriter<Trade>(path: path, format: columns) }
        #expect(written.status == .completed, "\(written.exitMessage)")
    }

    @Test(
        "a mapped record gives what the Decodable path gives, quoted delimiters, line breaks and empty fields included")
    func sameAsDecoded() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("trades.csv")
        let trades = awkwardTrades(60)
        try await Self.write(trades, to: path)
        let decoded = try await readAll(CSVReader<Trade>(path: path))
        let mapped = try await readAll(CSVReader(path: path, map: Self.trade))
        #expect(decoded == trades)
        #expect(mapped == decoded)
        let tsv = directory.file("trades.tsv")
        try await Self.write(trades, to: tsv, format: .tsv)
        #expect(try await readAll(TSVReader(path: tsv, map: Self.trade)) == trades)
    }

    @Test("the typed fields convert as decoding does: Decimal, Date, Bool, Int64, Int32, optional, missing column")
    func conversions() async throws {
        struct Entry: Equatable {
            var id: Int64, small: Int32, amount: Decimal, booked: Date, paid: Bool, memo: String?, absent: Int?
        }
        let directory = try TemporaryDirectory()
        let path = directory.file("entries.csv")
        try writeFile(path, "id,small,amount,booked,paid,memo\n9000000000,-7,12.50,2026-11-25T10:00:00Z,true,\n")
        let entries = try await readAll(
            CSVReader(path: path) { record in
                #expect(record.fieldCount == 6)
                #expect(record.contains("memo") && !record.contains("absent"))
                return Entry(
                    id: try record.decode(Int64.self, "id"), small: try record.decode(Int32.self, "small"),
                    amount: try record.decode(Decimal.self, "amount"), booked: try record.decode(Date.self, "booked"),
                    paid: try record.decode(Bool.self, "paid"), memo: try record.decodeIfPresent(String.self, "memo"),
                    absent: try record.decodeIfPresent(Int.self, "absent"))
            })
        #expect(
            entries == [
                Entry(
                    id: 9_000_000_000, small: -7, amount: Decimal(string: "12.50")!,
                    booked: Date(timeIntervalSince1970: 1_795_600_800), paid: true, memo: nil, absent: nil)
            ])
    }

    @Test("a field that does not convert, and a missing column, name the file, the line and the field")
    func errors() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("orders.csv")
        try writeFile(path, "id,name,qty\n1,a,1\n2,b,many\n")
        let mismatch = await batchError {
            _ = try await readAll(
                CSVReader(path: path) { record in
                    (try record.decode(Int.self, "id"), try record.decode(Int.self, "qty"))
                })
        }
        #expect(mismatch?.code == .malformedRecord)
        #expect(
            mismatch?.message == "\(path), line 3, field 'qty' (column 3): expected an integer (Int), found 'many'",
            "\(mismatch?.message ?? "")")
        let missing = await batchError {
            _ = try await readAll(CSVReader(path: path) { record in try record.decode(String.self, "price") })
        }
        #expect(
            missing?.message.contains("line 2, field 'price': no column 'price' in the header (columns: id, name, qty)")
                == true, "\(missing?.message ?? "")")
    }

    @Test("a mapped reader restarts after the last committed chunk, reading each record once")
    func restart() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("trades.csv")
        let trades = awkwardTrades(23)
        try await Self.write(trades, to: path)
        let failOnce = FailOnce()
        let written = Recorder<Trade>()
        let job = Job("mapped") {
            ChunkStep(
                "read", chunkSize: 5, reader: { _ in CSVReader(path: path, map: Self.trade) },
                writer: { _ in
                    ClosureItemWriter<Trade> { items in
                        if items.contains(where: { $0.id == 13 }), failOnce.shouldFail("chunk 3") {
                            throw Boom(description: "write failed")
                        }
                        written.append(contentsOf: items)
                    }
                })
        }
        let jobOperator = try makeOperator(job)
        let first = try await jobOperator.start("mapped")
        #expect(first.status == .failed)
        #expect(written.all == Array(trades[0..<10]))
        #expect(try await jobOperator.restart(.executionId(first.id)).status == .completed)
        #expect(written.all == trades)
    }
}
