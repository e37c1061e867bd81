import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

@Suite("File formats: round trips")
struct DelimitedRoundTripTests {
    static let formats: [(String, CSVFormat)] = [
        ("csv", .csv), ("tsv", .tsv), ("linear-tsv", .linearTSV),
        ("csv-crlf", CSVFormat(lineEnding: .crlf)),
        ("semicolon-latin1", CSVFormat(delimiter: ";", encoding: .isoLatin1)),
    ]

    @Test("CSV and TSV dialects carry awkward data through write and read, plain and gzip", arguments: [false, true])
    func delimitedRoundTrip(gzip: Bool) async throws {
        let directory = try TemporaryDirectory()
        var trades = awkwardTrades(60)
        for (name, format) in Self.formats {
            if format.encoding == .isoLatin1 {
                trades = trades.map { trade in
                    var trade = trade
                    trade.note = String(trade.note.unicodeScalars.filter { $0.value < 256 }.map(Character.init))
                    return trade
                }
            }
            let path = directory.file("trades-\(name).txt" + (gzip ? ".gz" : ""))
            let columns = CSVFormat(
                delimiter: format.delimiter, escaping: format.escaping,
                columns: ["id", "symbol", "note", "price", "comment"],
                encoding: format.encoding, lineEnding: format.lineEnding)
            let written = try await writeWithJob(trades) { CSVWriter<Trade>(path: path, format: columns) }
            #expect(written.status == .completed, "\(name): \(written.exitMessage)")
            #expect(!FileManager.default.fileExists(atPath: path + ".part"))
            let (read, execution) = try await readWithJob { CSVReader<Trade>(path: path, format: format) }
            #expect(execution.status == .completed, "\(name): \(execution.exitMessage)")
            #expect(read == trades, "\(name)")
            if gzip {
                let plain = try await runProgram("/usr/bin/gzip", ["-dc", path])
                #expect(plain.starts(with: Data("id".utf8)), "\(name): a real gzip file, readable by gzip(1)")
            }
        }
    }

    @Test("TSVReader and TSVWriter default to tab-separated with quotes")
    func tsvTypes() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("t.tsv")
        let trades = awkwardTrades(30).map { trade in
            var trade = trade
            trade.comment = trade.comment ?? "none"  // the first item names the columns
            return trade
        }
        _ = try await writeWithJob(trades) { TSVWriter<Trade>(path: path) }
        let text = String(decoding: try readFile(path), as: UTF8.self)
        #expect(text.hasPrefix("id\tsymbol\tnote\tprice\tcomment\n"))
        #expect(try await readAll(TSVReader<Trade>(path: path)) == trades)
    }

    @Test(
        "JSON Lines carry awkward data and nested values, plain and gzip",
        arguments: ["events.jsonl", "events.jsonl.gz"])
    func jsonLinesRoundTrip(name: String) async throws {
        struct Event: Codable, Equatable, Sendable {
            var trade: Trade
            var tags: [String]
            var at: Date
        }
        let directory = try TemporaryDirectory()
        let path = directory.file(name)
        let events = awkwardTrades(50).map {
            Event(trade: $0, tags: [$0.note, "x"], at: Date(timeIntervalSince1970: Double($0.id)))
        }
        let written = try await writeWithJob(events) { JSONLinesWriter<Event>(path: path) }
        #expect(written.status == .completed, "\(written.exitMessage)")
        let (read, execution) = try await readWithJob { JSONLinesReader<Event>(path: path) }
        #expect(execution.status == .completed, "\(execution.exitMessage)")
        #expect(read == events)
        let plain = name.hasSuffix(".gz") ? try await runProgram("/usr/bin/gzip", ["-dc", path]) : try readFile(path)
        #expect(plain.filter { $0 == 0x0A }.count == events.count, "one line per record")
    }

    @Test(
        "RFC 4180 by hand: quotes, doubled quotes, delimiters and line breaks inside quotes, CRLF, BOM, no final line break"
    )
    func rfc4180() async throws {
        struct Row: Decodable, Equatable {
            var a: String
            var b: String?
            var c: Int?
        }
        let directory = try TemporaryDirectory()
        let path = directory.file("rfc.csv")
        try writeFile(
            path,
            "\u{FEFF}a,b,c\r\n" + "plain,\"x,y\",1\r\n" + "\"say \"\"hi\"\"\",\"two\r\nlines\",2\r\n" + "\r\n"
                + ",,\n" + "\"\",\"\",3\r" + "last,\"\"\"\",-4")
        let rows = try await readAll(CSVReader<Row>(path: path))
        #expect(
            rows == [
                Row(a: "plain", b: "x,y", c: 1), Row(a: "say \"hi\"", b: "two\r\nlines", c: 2),
                Row(a: "", b: nil, c: nil), Row(a: "", b: nil, c: 3), Row(a: "last", b: "\"", c: -4),
            ])
    }

    @Test("records without a header: by position as [String], or by names from the format")
    func headerless() async throws {
        struct Pair: Decodable, Equatable {
            var key: String
            var value: Int
        }
        let directory = try TemporaryDirectory()
        let path = directory.file("raw.csv")
        try writeFile(path, "k1,1\n\"k,2\",2\n")
        let raw = try await readAll(CSVReader<[String]>(path: path, format: CSVFormat(hasHeader: false)))
        #expect(raw == [["k1", "1"], ["k,2", "2"]])
        let named = try await readAll(
            CSVReader<Pair>(path: path, format: CSVFormat(hasHeader: false, columns: ["key", "value"])))
        #expect(named == [Pair(key: "k1", value: 1), Pair(key: "k,2", value: 2)])

        let out = directory.file("raw-out.csv")
        _ = try await writeWithJob([["a", "b,c"], ["", "\""]]) {
            CSVWriter<[String]>(path: out, format: CSVFormat(hasHeader: false))
        }
        #expect(String(decoding: try readFile(out), as: UTF8.self) == "a,\"b,c\"\n,\"\"\"\"\n")
    }

    @Test("typed fields: integers, booleans, decimals, dates, UUIDs and raw-value enums")
    func typedFields() async throws {
        enum Side: String, Codable { case buy, sell }
        struct Typed: Codable, Equatable, Sendable {
            var small: Int8
            var big: UInt64
            var flag: Bool
            var amount: Decimal
            var at: Date
            var id: UUID
            var side: Side
            var ratio: Float?
        }
        let directory = try TemporaryDirectory()
        let path = directory.file("typed.csv.gz")
        let rows = [
            Typed(
                small: -128, big: .max, flag: true, amount: Decimal(string: "12345.6789")!,
                at: Date(timeIntervalSince1970: 1_700_000_000), id: UUID(), side: .buy, ratio: 0.5),
            Typed(
                small: 127, big: 0, flag: false, amount: Decimal(string: "-0.01")!,
                at: Date(timeIntervalSince1970: 1_700_000_000.25), id: UUID(), side: .sell, ratio: nil),
        ]
        let written = try await writeWithJob(rows) {
            CSVWriter<Typed>(
                path: path,
                format: CSVFormat(columns: ["small", "big", "flag", "amount", "at", "id", "side", "ratio"]))
        }
        #expect(written.status == .completed, "\(written.exitMessage)")
        #expect(try await readAll(CSVReader<Typed>(path: path)) == rows)
        let text = String(decoding: try await runProgram("/usr/bin/gzip", ["-dc", path]), as: UTF8.self)
        #expect(text.contains("2023-11-14T22:13:20Z"), "dates as ISO 8601: \(text)")
    }
}
