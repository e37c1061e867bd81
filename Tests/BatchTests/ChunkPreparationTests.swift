import Batch
import BatchTestKit
import Testing

/// Writers that prepare a chunk ahead of its write (`ItemWriter.preparation()`), run by a step reading ahead.
@Suite("Chunk preparation")
struct ChunkPreparationTests {
    /// A writer that can prepare once it has written a chunk (as a writer that learns column types from its first
    /// write): the preparation multiplies by ten; a write records whether it got a prepared chunk.
    struct PreparingWriter: ItemWriter {
        let written: Recorder<Int>
        /// The last item of each chunk written with what the preparation made of it.
        let preparedChunks: Recorder<Int>
        /// The chunk (by its last item) whose preparation throws.
        let failingPreparation: Int?
        var wroteOnce = false

        func preparation() -> ChunkPreparation<Int>? {
            guard wroteOnce else { return nil }
            let failing = failingPreparation
            return ChunkPreparation { items in
                if items.last == failing { throw Boom(description: "cannot prepare") }
                return items.map { $0 * 10 }
            }
        }

        mutating func write(_ items: [Int], in transaction: any ChunkTransaction) async throws {
            written.append(contentsOf: items.map { $0 * 10 })
            wroteOnce = true
        }

        mutating func write(_ items: [Int], prepared: PreparedChunk, in transaction: any ChunkTransaction) async throws
        {
            let values = try #require(prepared.value as? [Int])
            #expect(prepared.count == items.count)
            written.append(contentsOf: values)
            preparedChunks.append(items.last ?? 0)
            wroteOnce = true
        }
    }

    static func job(
        readAhead: Bool, written: Recorder<Int>, prepared: Recorder<Int>, failingPreparation: Int? = nil
    ) -> Job {
        Job("prepare") {
            ChunkStep(
                "load", chunkSize: 10, reader: { _ in RecordingReader(Array(1...50), reads: Recorder()) },
                writer: { _ in
                    PreparingWriter(written: written, preparedChunks: prepared, failingPreparation: failingPreparation)
                }
            ).readAhead(readAhead)
        }
    }

    /// Every case writes every item once; they differ in which chunks were prepared.
    @Test(
        arguments: [
            // Reading ahead, chunks read after the writer could prepare are written prepared: chunks 1 and 2 were
            // read before the first write, when the writer could not prepare yet.
            (readAhead: true, failingPreparation: nil, prepared: [30, 40, 50]),
            // A preparation that throws leaves its chunk to the plain write; the step completes.
            (readAhead: true, failingPreparation: 40, prepared: [30, 50]),
            // One chunk after the other, nothing is prepared.
            (readAhead: false, failingPreparation: nil, prepared: []),
        ] as [(readAhead: Bool, failingPreparation: Int?, prepared: [Int])])
    func preparedChunks(_ example: (readAhead: Bool, failingPreparation: Int?, prepared: [Int])) async throws {
        let (written, prepared) = (Recorder<Int>(), Recorder<Int>())
        let jobOperator = try makeOperator(
            Self.job(
                readAhead: example.readAhead, written: written, prepared: prepared,
                failingPreparation: example.failingPreparation))
        #expect(try await jobOperator.start("prepare").status == .completed)
        #expect(written.all == Array(1...50).map { $0 * 10 })
        #expect(prepared.all == example.prepared)
    }
}
