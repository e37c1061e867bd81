/// A growing run of plain values in memory of its own: a parser's per-record scratch (a record's field bytes and
/// where each field ends), emptied for every record and grown only by the longest.
///
/// `[UInt8].append(contentsOf:)` of a short field goes through the generic sequence path, and reading a class's
/// array property retains its storage for the call: together about a tenth of a CSV file's reading (`perf`, the CSV
/// load of `PostgresBenchmarks`). Here an append is one capacity check and one copy, and a field is read through a
/// pointer. Non-copyable, so the memory has exactly one owner and is freed once.
///
/// `PostgresBinaryBuffer` is its twin in `BatchPostgres`. One type shared from `Batch` (package access, inlinable)
/// was tried: its generic methods were then called unspecialised across the module boundary, and encoding a million
/// rows took 0.23–0.25 s instead of 0.14 s (`PostgresBenchmarks` with `BENCH_CSV_CLIENT=1`).
struct ScratchBuffer<Element: BitwiseCopyable>: ~Copyable {
    private var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    /// The values held.
    private(set) var count = 0

    /// An empty buffer with room for `capacity` values before it grows.
    init(capacity: Int) {
        self.capacity = max(16, capacity)
        base = UnsafeMutablePointer<Element>.allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The value at `index`.
    @inline(__always)
    subscript(index: Int) -> Element {
        precondition(index >= 0 && index < count, "ScratchBuffer index out of range")
        return base[index]
    }

    /// Empties the buffer, keeping its memory.
    @inline(__always)
    mutating func removeAll() { count = 0 }

    /// Appends one value.
    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow(to: count + 1) }
        (base + count).initialize(to: element)
        count += 1
    }

    /// Appends `length` values from `source`.
    @inline(__always)
    mutating func append(_ source: UnsafePointer<Element>, count length: Int) {
        guard length > 0 else { return }
        if count + length > capacity { grow(to: count + length) }
        (base + count).initialize(from: source, count: length)
        count += length
    }

    /// The values in `range`, valid until the buffer next changes.
    @inline(__always)
    func values(in range: Range<Int>) -> UnsafeBufferPointer<Element> {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "ScratchBuffer range out of bounds")
        return UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var larger = capacity * 2
        while larger < needed { larger *= 2 }
        let moved = UnsafeMutablePointer<Element>.allocate(capacity: larger)
        moved.initialize(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }
}
