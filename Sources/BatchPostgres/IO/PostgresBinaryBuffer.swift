/// A growing run of bytes in PostgreSQL's binary formats (`COPY` rows, array parameters): big-endian integers and
/// byte runs stored straight into raw memory.
///
/// `[UInt8].append(contentsOf:)` of a 4- or 8-byte integer goes through the generic sequence path (a capacity and
/// uniqueness check, then a copy loop) on every field; encoding a chunk of short rows spent half its time there
/// (`perf`, the CSV load of `PostgresBenchmarks`). Here a field is one capacity check and one unaligned store.
/// Non-copyable, so the memory it owns has exactly one owner and is freed once. Kept apart from `BatchFiles`'
/// `ScratchBuffer` on purpose (see there): a shared one ran the encoding at 1.7 times the CPU.
struct PostgresBinaryBuffer: ~Copyable {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    /// The bytes written so far.
    private(set) var count = 0

    /// An empty buffer with room for `capacity` bytes before it grows.
    init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var larger = capacity * 2
        while larger < needed { larger *= 2 }
        let moved = UnsafeMutableRawPointer.allocate(byteCount: larger, alignment: 16)
        moved.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    /// Appends `value` in network byte order.
    @inline(__always)
    mutating func append<Integer: FixedWidthInteger>(_ value: Integer) {
        let size = MemoryLayout<Integer>.size
        reserve(size)
        base.storeBytes(of: value.bigEndian, toByteOffset: count, as: Integer.self)
        count += size
    }

    /// Appends one byte.
    @inline(__always)
    mutating func append(byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// Appends `bytes` as they are.
    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// Appends `bytes` as they are.
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The bytes written, as an array.
    consuming func bytes() -> [UInt8] {
        [UInt8](UnsafeRawBufferPointer(start: base, count: count))
    }
}
