import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

@Suite("Checksums")
struct ChecksumTests {
    @Test("a writer writes .md5 and .sha256 files that md5sum -c and sha256sum -c accept")
    func writerChecksums() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("trades.csv.gz")
        let written = try await writeWithJob(awkwardTrades(200)) {
            CSVWriter<Trade>(
                path: path, format: CSVFormat(columns: ["id", "symbol", "note", "price", "comment"]),
                configuration: FileWriterConfiguration(checksums: [.md5, .sha256]))
        }
        #expect(written.status == .completed, "\(written.exitMessage)")
        let md5 = String(decoding: try readFile(path + ".md5"), as: UTF8.self)
        let sha = String(decoding: try readFile(path + ".sha256"), as: UTF8.self)
        #expect(md5.count == 32 + 2 + "trades.csv.gz".count + 1 && md5.hasSuffix("  trades.csv.gz\n"))
        #expect(sha.count == 64 + 2 + "trades.csv.gz".count + 1 && sha.hasSuffix("  trades.csv.gz\n"))
        _ = try await runProgram("/usr/bin/md5sum", ["-c", "--status", "trades.csv.gz.md5"], in: directory.path)
        _ = try await runProgram("/usr/bin/sha256sum", ["-c", "--status", "trades.csv.gz.sha256"], in: directory.path)
        try Checksum.verify(path, .md5)
        try Checksum.verify(path, .sha256)
    }

    @Test("a checksum mismatch fails the step before anything is read")
    func mismatchFailsBeforeReading() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("in.csv")
        try writeFile(path, "id,symbol,note,price,comment\n1,A,n,1.0,\n")
        _ = try await runProgram("/bin/sh", ["-c", "sha256sum in.csv > in.csv.sha256"], in: directory.path)
        let good = try await readWithJob {
            CSVReader<Trade>(path: path, configuration: FileReaderConfiguration(checksum: .sha256))
        }
        #expect(good.execution.status == .completed, "a checksum made by sha256sum verifies")
        #expect(good.items.count == 1)

        try writeFile(path, "id,symbol,note,price,comment\n1,A,n,9.0,\n")  // changed after the checksum
        let processed = Recorder<Int>()
        let job = Job("checked") {
            ChunkStep(
                "load", chunkSize: 10,
                reader: { _ in CSVReader<Trade>(path: path, configuration: FileReaderConfiguration(checksum: .sha256))
                },
                processor: { (trade: Trade) -> Trade? in
                    processed.append(trade.id)
                    return trade
                },
                writer: { _ in ClosureItemWriter<Trade> { _ in } })
        }
        let jobOperator = try makeOperator(job)
        let failed = try await jobOperator.start("checked")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage.contains("does not match its SHA-256 checksum"), "\(failed.exitMessage)")
        #expect(processed.all.isEmpty, "nothing read")
        let step = try #require(try await jobOperator.execution(failed.id).steps.first)
        #expect(step.counters.read == 0 && step.counters.commit == 0)

        var reader = JSONLinesReader<Trade>(path: path, configuration: FileReaderConfiguration(checksum: .md5))
        let missing = await batchError { try await reader.open(ExecutionContext()) }
        #expect(missing?.code == .fileFailure, "no .md5 file: \(missing?.message ?? "")")
        let mismatch = await batchError { try Checksum.verify(path, .sha256) }
        #expect(mismatch?.code == .checksumMismatch)
    }

    @Test("the checksum tasklet writes a checksum file and verifies one, failing its step on a mismatch")
    func tasklet() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("report.txt")
        try writeFile(path, "hello\n")
        let job = Job("sums") {
            Step("write-md5", tasklet: ChecksumTasklet(path: path, algorithm: .md5))
            Step("verify-md5", tasklet: ChecksumTasklet(path: path, algorithm: .md5, mode: .verify))
        }
        let execution = try await makeOperator(job).start("sums")
        #expect(execution.status == .completed, "\(execution.exitMessage)")
        #expect(
            String(decoding: try readFile(path + ".md5"), as: UTF8.self)
                == "b1946ac92492d2347c6235b4d2611184  report.txt\n")

        try writeFile(path, "changed\n")
        let verify = Job("verify") {
            Step("verify", tasklet: ChecksumTasklet(algorithm: .md5, mode: .verify) { _ in path })
        }
        let failed = try await makeOperator(verify).start("verify")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage.contains("does not match its MD5 checksum"))
    }
}
