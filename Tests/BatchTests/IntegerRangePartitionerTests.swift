import Batch
import BatchTestKit
import Testing

@Suite("IntegerRangePartitioner")
struct IntegerRangePartitionerTests {
    @Test("ranges are contiguous, cover every value once in order, and differ in size by at most one")
    func evenSplit() {
        #expect(IntegerRangePartitioner.split(1...10, into: 3) == [1...4, 5...7, 8...10])
        #expect(IntegerRangePartitioner.split(1...9, into: 3) == [1...3, 4...6, 7...9])
        #expect(IntegerRangePartitioner.split(-5...5, into: 1) == [-5...5])
        var random = SeededRandomNumberGenerator(seed: 11)
        for _ in 0..<500 {
            let first = Int64.random(in: -1_000...1_000, using: &random)
            let last = first + Int64.random(in: 0...300, using: &random)
            let count = Int.random(in: 1...40, using: &random)
            let ranges = IntegerRangePartitioner.split(first...last, into: count)
            #expect(ranges.count == min(count, Int(last - first + 1)))
            #expect(ranges.flatMap { Array($0) } == Array(first...last))
            let sizes = ranges.map(\.count)
            #expect(sizes.max()! - sizes.min()! <= 1)
            #expect(sizes == sizes.sorted(by: >), "the larger ranges come first")
        }
    }

    @Test("fewer values than partitions: one partition per value")
    func fewerValues() {
        #expect(IntegerRangePartitioner.split(7...9, into: 8) == [7...7, 8...8, 9...9])
        #expect(IntegerRangePartitioner.split(3...3, into: 4) == [3...3])
    }

    @Test("an empty range makes no partitions; a grid size below 1 counts as 1")
    func emptyAndDegenerate() async throws {
        #expect(IntegerRangePartitioner.split(nil, into: 4).isEmpty)
        #expect(IntegerRangePartitioner.split(1...5, into: 0) == [1...5])
        let partitions = try await partitions(of: IntegerRangePartitioner(first: 1, last: 0), gridSize: 4)
        #expect(partitions.isEmpty)
    }

    @Test("the whole of Int64 splits without overflow")
    func extremes() {
        let whole = IntegerRangePartitioner.split(Int64.min...Int64.max, into: 4)
        #expect(whole.count == 4)
        #expect(whole.first?.lowerBound == .min)
        #expect(whole.last?.upperBound == .max)
        for (left, right) in zip(whole, whole.dropFirst()) { #expect(left.upperBound + 1 == right.lowerBound) }
        #expect(IntegerRangePartitioner.split(Int64.min...Int64.max, into: 1) == [Int64.min...Int64.max])
        #expect(IntegerRangePartitioner.split((Int64.max - 2)...Int64.max, into: 5).count == 3)
    }

    @Test("names are zero-padded so they sort in range order; contexts hold only the bounds")
    func namesAndContexts() async throws {
        let partitions = try await partitions(of: IntegerRangePartitioner(1...120, prefix: "ids"), gridSize: 12)
        let names = partitions.keys.sorted()
        #expect(names == (0..<12).map { $0 < 10 ? "ids-0\($0)" : "ids-\($0)" })
        let bounds = try names.map { try IntegerRangePartitioner.bounds(in: partitions[$0]!) }
        #expect(bounds == IntegerRangePartitioner.split(1...120, into: 12))
        #expect(partitions["ids-00"]?.values.count == 2)
    }

    @Test("bounds(in:) refuses a context without a range or with a reversed one")
    func accessorRefuses() {
        #expect(throws: BatchError.self) { try IntegerRangePartitioner.bounds(in: ExecutionContext()) }
        let reversed = ExecutionContext([
            IntegerRangePartitioner.firstKey: .int(5), IntegerRangePartitioner.lastKey: .int(4),
        ])
        #expect(throws: BatchError.self) { try IntegerRangePartitioner.bounds(in: reversed) }
    }

    @Test("plugged into a PartitionStep: every value of the parameters' range read once, by its partition")
    func endToEnd() async throws {
        let seen = Recorder<String>()
        let job = Job("integer-ranges") {
            PartitionStep(
                "load", partitions: 4,
                partitioner: IntegerRangePartitioner(prefix: "n") { context in
                    let items = try context.parameters.int("items")
                    return items > 0 ? 1...Int64(items) : nil
                },
                step: ChunkStep(
                    "load-range", chunkSize: 7,
                    reader: { context in ArrayItemReader(Array(try IntegerRangePartitioner.bounds(in: context))) },
                    processor: { (n: Int64) -> Int64? in n },
                    writer: { context in
                        ClosureItemWriter<Int64> { items in
                            seen.append(contentsOf: items.map { "\(context.partitionName ?? "?"):\($0)" })
                        }
                    }))
        }
        let jobOperator = try makeOperator(job)
        let execution = try await jobOperator.start("integer-ranges", params: #"{"items":50}"#)
        #expect(execution.status == .completed)
        let values = seen.all.map { Int64($0.split(separator: ":")[1])! }
        #expect(values.sorted() == Array(1...50))
        #expect(Set(seen.all.map { $0.split(separator: ":")[0] }) == ["n-0", "n-1", "n-2", "n-3"])
        #expect(seen.all.filter { $0.hasPrefix("n-3:") }.count == 12, "50 values in 4: 13, 13, 12, 12")

        seen.removeAll()
        let empty = try await jobOperator.start("integer-ranges", params: #"{"items":0}"#)
        #expect(empty.status == .completed, "an empty range: no partitions, the step completes")
        #expect(seen.all.isEmpty)
        let steps = try await jobOperator.execution(empty.id).steps.map(\.stepName)
        #expect(steps == ["load"])
    }
}
