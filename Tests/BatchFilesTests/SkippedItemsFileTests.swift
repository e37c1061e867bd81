import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

@Suite("File formats: the JSON Lines skipped-items file")
struct SkippedItemsFileTests {
    struct Unreadable: Error, CustomStringConvertible {
        var description: String { "unreadable record" }
    }
    struct Glitch: Error {}

    @Test("a chunk whose commit failed and was tried again records its skipped item once")
    func retriedChunkRecordsOnce() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("skipped.jsonl")
        /// Records 1…6, the third unreadable.
        struct Reader: ItemReader {
            var next = 1
            mutating func read() async throws -> Int? {
                defer { next += 1 }
                if next == 3 { throw Unreadable() }
                return next <= 6 ? next : nil
            }
        }
        let failures = Locked(1)
        let repository = InterceptingRepository(beforeChunkCommit: { _ in
            if failures.withLock({ count in
                defer { count -= 1 }
                return count > 0
            }) {
                throw Glitch()
            }
        })
        let job = Job("skips") {
            ChunkStep(
                "load", chunkSize: 10, reader: { _ in Reader() },
                writer: { _ in ClosureItemWriter<Int> { _ in } }
            )
            .skip(SkipPolicy(limit: 5) { $0 is Unreadable })
            .retry(RetryPolicy(limit: 3, when: { $0 is Glitch }, backoff: Backoff(initial: .milliseconds(1))))
            .recordSkippedItems(JSONLinesSkippedItemRecorder(path: path))
        }
        let jobOperator = JobOperator(registry: try JobRegistry([job]), repository: repository)
        let execution = try await jobOperator.start("skips")
        #expect(execution.status == .completed, "\(execution.exitMessage)")
        let step = try #require(try await jobOperator.execution(execution.id).steps.first)
        #expect(step.counters.rollback == 1 && step.counters.readSkip == 1, "\(step.counters)")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("unreadable record") == true)
    }
}
