/// Splits a closed range of integers `first…last` into contiguous ranges, one per partition.
///
/// The ranges cover every value once, in order, and differ in size by at most one. There are `gridSize` of them,
/// or fewer when the range holds fewer values (one value per partition then). An empty range makes **no
/// partitions**: the partitioned step completes at once, having run nothing.
///
/// Partitions are named `<prefix>-<index>`, the index zero-padded to the width of the largest, so the names sort
/// in the order of their ranges (`range-0`…`range-7`, `range-00`…`range-11`). Each partition's context holds only
/// its bounds, which the step reads back with ``bounds(in:)-(StepContext)``:
///
/// ```swift
/// PartitionStep("load", partitions: 8,
///               partitioner: IntegerRangePartitioner { context in
///                   let items = try context.parameters.int("items")
///                   return items > 0 ? 1...Int64(items) : nil             // nil: nothing to do
///               },
///               step: ChunkStep("load-range", chunkSize: 100,
///                               reader: { context in
///                                   let range = try IntegerRangePartitioner.bounds(in: context)
///                                   return ArrayItemReader(Array(range))
///                               }, writer: ...))
/// ```
public struct IntegerRangePartitioner: Partitioner {
    /// The context key of a partition's first value (an integer).
    public static let firstKey = "range.first"
    /// The context key of a partition's last value (an integer, inclusive).
    public static let lastKey = "range.last"

    /// The prefix of the partitions' names.
    public let prefix: String
    private let range: @Sendable (StepContext) async throws -> ClosedRange<Int64>?

    /// Creates a partitioner over a fixed range.
    /// - Parameters:
    ///   - range: the values to split; nil for none (no partitions).
    ///   - prefix: the prefix of the partitions' names (no `:`).
    public init(_ range: ClosedRange<Int64>?, prefix: String = "range") {
        self.prefix = prefix
        self.range = { _ in range }
    }

    /// Creates a partitioner over `first…last`; when `last < first` the range is empty (no partitions).
    /// - Parameters:
    ///   - first: the first value.
    ///   - last: the last value, included.
    ///   - prefix: the prefix of the partitions' names (no `:`).
    public init(first: Int64, last: Int64, prefix: String = "range") {
        self.init(first <= last ? first...last : nil, prefix: prefix)
    }

    /// Creates a partitioner whose range is found when the step starts, typically from the job parameters.
    /// - Parameters:
    ///   - prefix: the prefix of the partitions' names (no `:`).
    ///   - range: the values to split, nil for none (no partitions); what it throws fails the step.
    public init(
        prefix: String = "range", range: @escaping @Sendable (StepContext) async throws -> ClosedRange<Int64>?
    ) {
        self.prefix = prefix
        self.range = range
    }

    /// The partitions: at most `gridSize` contiguous ranges of the range, none when it is empty.
    public func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        let ranges = Self.split(try await range(context), into: gridSize)
        let width = String(max(ranges.count - 1, 0)).count
        var partitions: [String: ExecutionContext] = [:]
        for (index, range) in ranges.enumerated() {
            let number = String(index)
            let name = "\(prefix)-\(String(repeating: "0", count: width - number.count))\(number)"
            partitions[name] = ExecutionContext([
                Self.firstKey: .int(range.lowerBound), Self.lastKey: .int(range.upperBound),
            ])
        }
        return partitions
    }

    /// Splits `range` into at most `count` contiguous ranges covering it in order, their sizes differing by at most
    /// one (the larger first). Fewer when the range holds fewer than `count` values; none when `range` is nil. A
    /// `count` below 1 counts as 1. Works over the whole of `Int64` without overflow.
    public static func split(_ range: ClosedRange<Int64>?, into count: Int) -> [ClosedRange<Int64>] {
        guard let range else { return [] }
        // span = number of values - 1, which always fits in UInt64.
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound)
        let wanted = UInt64(max(count, 1))
        let parts = span < wanted - 1 ? span + 1 : wanted
        guard parts > 1 else { return [range] }
        // values = span + 1 = quotient * parts + remainder + 1, spread as `base` each plus one more for the first `extra`.
        let (quotient, remainder) = span.quotientAndRemainder(dividingBy: parts)
        let (base, extra) = remainder + 1 == parts ? (quotient + 1, UInt64(0)) : (quotient, remainder + 1)
        var result: [ClosedRange<Int64>] = []
        result.reserveCapacity(Int(parts))
        var offset: UInt64 = 0
        for index in 0..<parts {
            let size = base + (index < extra ? 1 : 0)
            let first = Int64(bitPattern: UInt64(bitPattern: range.lowerBound) &+ offset)
            let last = Int64(bitPattern: UInt64(bitPattern: range.lowerBound) &+ offset &+ (size - 1))
            result.append(first...last)
            offset &+= size
        }
        return result
    }

    /// The bounds of the partition a step runs in, from its step context.
    /// - Throws: ``BatchError/Code/invalidState`` when the context holds no range (the step does not run as a
    ///   partition of this partitioner) or a reversed one.
    public static func bounds(in context: StepContext) throws -> ClosedRange<Int64> {
        try bounds(in: context.stepContext)
    }

    /// The bounds of a partition, from its execution context.
    /// - Throws: ``BatchError/Code/invalidState`` when the context holds no range or a reversed one.
    public static func bounds(in context: ExecutionContext) throws -> ClosedRange<Int64> {
        guard let first = context[firstKey]?.intValue, let last = context[lastKey]?.intValue else {
            throw BatchError(
                .invalidState,
                "the step context holds no integer range ('\(firstKey)', '\(lastKey)'): is the step a partition of an IntegerRangePartitioner?"
            )
        }
        guard first <= last else {
            throw BatchError(.invalidState, "the step context's integer range is reversed: \(first) > \(last)")
        }
        return first...last
    }
}
