import Batch
import BatchTestKit
import Foundation
import Testing

@testable import BatchPostgres

@Suite(.database) struct PostgresKeyRangeTests {
    /// A table `<schema>.items (id <keyType> PRIMARY KEY, label text)` holding `ids`.
    static func makeTable(
        _ repository: PostgresJobRepository, ids: [Int64], keyType: String = "bigint"
    ) async throws -> String {
        let table = "\(repository.schema).items"
        try await repository.pool.withConnection { connection in
            try await connection.query(
                "CREATE TABLE \"\(repository.schema)\".items (id \(keyType) PRIMARY KEY, label text)")
            try await connection.query(
                """
                INSERT INTO "\(repository.schema)".items
                SELECT id, 'item ' || id FROM unnest(string_to_array($1, ',')::bigint[]) AS id
                """, [.text(ids.map(String.init).joined(separator: ","))])
        }
        return table
    }

    /// The partitions the partitioner makes for `gridSize` (run as a partitioned step whose partitions do nothing).
    static func partitions(
        of partitioner: PostgresKeyRangePartitioner, gridSize: Int
    ) async throws -> [ClosedRange<Int64>] {
        let partitions = try await BatchTestKit.partitions(of: partitioner, gridSize: gridSize)
        return try partitions.keys.sorted().map { try IntegerRangePartitioner.bounds(in: partitions[$0]!) }
    }

    /// Reads `range` with a fresh reader of `pageSize`, starting from `context`.
    static func read(
        _ repository: PostgresJobRepository, _ table: String, _ range: ClosedRange<Int64>, pageSize: Int = 7,
        context: ExecutionContext = ExecutionContext()
    ) async throws -> [Int64] {
        var reader = PostgresKeyRangeReader<Int64>(
            pool: repository.pool, table: table, keyColumn: "id", columns: ["label"], range: range, pageSize: pageSize
        ) { row in
            #expect(try row.decode("label", as: String.self) == "item \(try row.decode("id", as: Int64.self))")
            return try row.decode("id")
        }
        try await reader.open(context)
        var ids: [Int64] = []
        while let id = try await reader.read() { ids.append(id) }
        return ids
    }

    @Test("min…max split into key ranges; an empty table makes none; few keys make one partition per key")
    func partitionsOfATable() async throws {
        try await TestDatabase.withRepository { repository in
            let table = try await Self.makeTable(repository, ids: Array(1...1_000))
            let partitioner = PostgresKeyRangePartitioner(pool: repository.pool, table: table, keyColumn: "id")
            #expect(
                try await Self.partitions(of: partitioner, gridSize: 4) == [1...250, 251...500, 501...750, 751...1_000])
            try await repository.pool.withConnection { try await $0.query("DELETE FROM \(Self.quoted(table))") }
            #expect(try await Self.partitions(of: partitioner, gridSize: 4).isEmpty)
            try await repository.pool.withConnection {
                try await $0.query("INSERT INTO \(Self.quoted(table)) VALUES (5, 'a'), (6, 'b'), (7, 'c')")
            }
            #expect(try await Self.partitions(of: partitioner, gridSize: 8) == [5...5, 6...6, 7...7])
        }
    }

    @Test("evenRows cuts at the keys' percentiles: about as many rows per range whatever the keys' spread")
    func evenRows() async throws {
        try await TestDatabase.withRepository { repository in
            let ids = (1...90).map { Int64($0) } + (1...10).map { Int64(1_000_000 + $0) }
            let table = try await Self.makeTable(repository, ids: ids)
            let byKeys = PostgresKeyRangePartitioner(pool: repository.pool, table: table, keyColumn: "id")
            let keyRanges = try await byKeys.keyRanges(count: 4, pool: repository.pool)
            #expect(ids.filter { keyRanges[0].contains($0) }.count == 90, "even keys: the cluster in one range")
            let byRows = PostgresKeyRangePartitioner(
                pool: repository.pool, table: table, keyColumn: "id", split: .evenRows)
            let ranges = try await Self.partitions(of: byRows, gridSize: 4)
            #expect(ranges.count == 4)
            #expect(ranges.first?.lowerBound == 1)
            #expect(ranges.last?.upperBound == 1_000_010)
            for (left, right) in zip(ranges, ranges.dropFirst()) { #expect(left.upperBound + 1 == right.lowerBound) }
            let counts = ranges.map { range in ids.filter { range.contains($0) }.count }
            #expect(counts.reduce(0, +) == 100)
            #expect(counts.allSatisfy { (20...30).contains($0) }, "\(counts)")
            var read: [Int64] = []
            for range in ranges { read += try await Self.read(repository, table, range) }
            #expect(read == ids)
            try await repository.pool.withConnection {
                try await $0.query("DELETE FROM \(Self.quoted(table)) WHERE id NOT IN (3, 4, 9)")
            }
            let few = try await byRows.keyRanges(count: 8, pool: repository.pool)
            #expect(few.count <= 3 && few.first?.lowerBound == 3 && few.last?.upperBound == 9)
            try await repository.pool.withConnection { try await $0.query("DELETE FROM \(Self.quoted(table))") }
            #expect(try await byRows.keyRanges(count: 8, pool: repository.pool).isEmpty)
        }
    }

    @Test("cuts from a later snapshot than the bounds (rows written in between) are left out, not a crash")
    func cutsOutsideTheBounds() {
        // The bounds were 1…100; 1,000 rows more came before the percentiles were taken.
        #expect(PostgresKeyRangePartitioner.ranges(1...100, cuts: [275, 550, 825]) == [1...100])
        #expect(PostgresKeyRangePartitioner.ranges(1...100, cuts: [40, 70, 825]) == [1...39, 40...69, 70...100])
        // Rows deleted below the old minimum, and equal cuts.
        #expect(PostgresKeyRangePartitioner.ranges(10...100, cuts: [3, 50, 50]) == [10...49, 50...100])
    }

    @Test("property: the ranges' reads together are the table's rows, once each and in key order")
    func unionIsTheTable() async throws {
        try await TestDatabase.withRepository { repository in
            var random = SeededRandomNumberGenerator(seed: 11_2026)
            var ids = Set<Int64>()
            while ids.count < 300 { ids.insert(Int64.random(in: -5_000...50_000, using: &random)) }
            for _ in 0..<20 { ids.insert(Int64.random(in: 1_000_000...1_000_050, using: &random)) }
            let sorted = ids.sorted()
            let table = try await Self.makeTable(repository, ids: sorted)
            for trial in 0..<12 {
                let split: PostgresKeyRangePartitioner.Split = trial % 2 == 0 ? .evenKeys : .evenRows
                let grid = Int.random(in: 1...40, using: &random)
                let partitioner = PostgresKeyRangePartitioner(
                    pool: repository.pool, table: table, keyColumn: "id", split: split)
                let ranges = try await partitioner.keyRanges(count: grid, pool: repository.pool)
                #expect(ranges.count <= grid && !ranges.isEmpty)
                var read: [Int64] = []
                for range in ranges {
                    read += try await Self.read(
                        repository, table, range, pageSize: Int.random(in: 1...50, using: &random))
                }
                #expect(read == sorted, "trial \(trial): \(split) in \(grid)")
            }
        }
    }

    @Test("a key that is not an integer, and names that are not plain identifiers, are refused")
    func refusals() async throws {
        try await TestDatabase.withRepository { repository in
            try await repository.pool.withConnection { connection in
                try await connection.query("CREATE TABLE \"\(repository.schema)\".texts (id text PRIMARY KEY)")
            }
            let byText = PostgresKeyRangePartitioner(
                pool: repository.pool, table: "\(repository.schema).texts", keyColumn: "id")
            let error = await #expect(throws: PostgresError.self) { try await byText.keyBounds(pool: repository.pool) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains("not an integer") == true)
            for (table, column) in [("items; DROP TABLE x", "id"), ("items", "id\" OR 1=1 --"), ("a.b.c", "id")] {
                let partitioner = PostgresKeyRangePartitioner(pool: repository.pool, table: table, keyColumn: column)
                await #expect(throws: PostgresError.self) { try await partitioner.keyBounds(pool: repository.pool) }
                var reader = PostgresKeyRangeReader<Int64>(
                    pool: repository.pool, table: table, keyColumn: column, range: 1...2
                ) { _ in 0 }
                await #expect(throws: PostgresError.self) { try await reader.open(ExecutionContext()) }
            }
        }
    }

    @Test("the range reader reads exactly its keys in order across pages, and resumes after the last saved key")
    func rangeReader() async throws {
        try await TestDatabase.withRepository { repository in
            let ids = (1...100).map { Int64($0 * 3) } + [Int64.min, Int64.max - 1, Int64.max]
            let table = try await Self.makeTable(repository, ids: ids)
            #expect(try await Self.read(repository, table, 10...40) == ids.filter { (10...40).contains($0) })
            #expect(try await Self.read(repository, table, 30...30) == [30])
            #expect(try await Self.read(repository, table, 31...32).isEmpty)
            #expect(
                try await Self.read(repository, table, (Int64.max - 5)...Int64.max, pageSize: 1) == [
                    Int64.max - 1, .max,
                ])
            #expect(try await Self.read(repository, table, Int64.min...0) == [Int64.min])
            // 21 rows in pages of 7: the last page is full, so one more (empty) page ends the read.
            #expect(try await Self.read(repository, table, 1...63, pageSize: 7).count == 21)

            var reader = PostgresKeyRangeReader<Int64>(
                pool: repository.pool, table: table, keyColumn: "id", range: 1...60, pageSize: 4
            ) { try $0.decode("id") }
            try await reader.open(ExecutionContext())
            var first: [Int64] = []
            for _ in 0..<5 { first.append(try #require(try await reader.read())) }
            var context = ExecutionContext()
            reader.update(&context)
            #expect(context["reader.lastKey"] == .int(15))
            _ = try await reader.read()  // read, not committed
            let rest = try await Self.read(repository, table, 1...60, context: context)
            #expect(first + rest == ids.filter { (1...60).contains($0) })
            let below = ExecutionContext(["reader.lastKey": .int(-100)])
            #expect(
                try await Self.read(repository, table, 1...60, context: below) == ids.filter { (1...60).contains($0) })
            let done = ExecutionContext(["reader.lastKey": .int(60)])
            #expect(try await Self.read(repository, table, 1...60, context: done).isEmpty)
        }
    }

    @Test("plugged into a PartitionStep: every row once; a partition failing mid-range resumes within it")
    func endToEnd() async throws {
        try await TestDatabase.withRepository { repository in
            let table = try await Self.makeTable(repository, ids: Array(1...400))
            let pool = repository.pool
            let written = Recorder<Int64>()
            let failOnce = FailOnce()
            let job = Job("by-keys") {
                PartitionStep(
                    "load", partitions: 4,
                    partitioner: PostgresKeyRangePartitioner(pool: pool, table: table, keyColumn: "id"),
                    step: ChunkStep(
                        "load-range", chunkSize: 10,
                        reader: { context in
                            PostgresKeyRangeReader<Int64>(
                                pool: pool, table: table, keyColumn: "id",
                                range: try IntegerRangePartitioner.bounds(in: context), pageSize: 16
                            ) { try $0.decode("id") }
                        },
                        processor: { (id: Int64) -> Int64? in
                            if id == 255, failOnce.shouldFail("255") { throw Boom() }
                            return id
                        },
                        writer: { _ in ClosureItemWriter<Int64> { written.append(contentsOf: $0) } }))
            }
            let jobOperator = try makeOperator(job)
            let failed = try await jobOperator.start("by-keys")
            #expect(failed.status == .failed)
            let partitionTwo = written.all.filter { (201...300).contains($0) }
            #expect(partitionTwo == Array(201...250), "keys-2 committed its chunks up to 250, then failed")
            let restarted = try await jobOperator.restart("by-keys")
            #expect(restarted.status == .completed)
            #expect(written.all.sorted() == Array(1...400), "every row exactly once")
            let rerun = try await jobOperator.execution(restarted.id).steps.map(\.stepName).sorted()
            #expect(rerun == ["load", "load:keys-2"])
        }
    }

    static func quoted(_ table: String) -> String {
        table.split(separator: ".").map { "\"\($0)\"" }.joined(separator: ".")
    }
}
