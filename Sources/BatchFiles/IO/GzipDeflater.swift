import Batch
import CZlib

/// Compresses byte blocks into complete gzip members with zlib's `deflate`. Owns the `z_stream` (on the heap: zlib
/// keeps a pointer back to it) and frees it in `deinit`.
///
/// A gzip file may be a series of members; `gunzip`, `zcat` and `gzread` read them as one stream. Writing each
/// chunk as a member of its own makes every committed chunk end at a member boundary, which is what lets a
/// restarted writer truncate a `.gz` file back to its last committed chunk and append.
final class GzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutablePointer<UInt8>
    private let outputSize = 1 << 18

    /// Creates a compressor at zlib `level` (1...9).
    init(level: Int) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(capacity: outputSize)
        // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
        let status = deflateInit2_(
            stream, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            output.deallocate()
            throw BatchError(.fileFailure, "cannot set up gzip compression (zlib status \(status))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses `input` into one gzip member, handing the compressed bytes to `sink` as they come.
    func compressMember(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard input.count < Int(UInt32.max) else {
            throw BatchError(.fileFailure, "a chunk of \(input.count) bytes is too large to gzip in one piece")
        }
        guard deflateReset(stream) == Z_OK else { throw BatchError(.fileFailure, "cannot reset gzip compression") }
        stream.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        while true {
            stream.pointee.next_out = output
            stream.pointee.avail_out = UInt32(outputSize)
            let status = deflate(stream, Z_FINISH)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw BatchError(.fileFailure, "gzip compression failed (zlib status \(status))")
            }
            let produced = outputSize - Int(stream.pointee.avail_out)
            if produced > 0 { try sink(UnsafeRawBufferPointer(start: output, count: produced)) }
            if status == Z_STREAM_END { break }
        }
        stream.pointee.next_in = nil
    }
}
