import Batch
import BatchFiles
import BatchTestKit
import Foundation
import Testing

@Suite("FileSetPartitioner")
struct FileSetPartitionerTests {
    /// A data directory with `in/b.csv`, `in/a.csv`, `in/c.txt`, `in/.hidden.csv`, a directory `in/dir.csv`,
    /// `in/2026/x.csv` and `top.csv`.
    static func makeDirectory() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for sub in ["in", "in/dir.csv", "in/2026", "in/2027"] {
            try FileManager.default.createDirectory(atPath: directory.file(sub), withIntermediateDirectories: true)
        }
        for (index, name) in ["in/b.csv", "in/a.csv", "in/c.txt", "in/.hidden.csv", "in/2026/x.csv", "top.csv"]
            .enumerated()
        {
            try writeFile(directory.file(name), csvText([Note(id: index + 1, note: name)]))
        }
        return directory
    }

    @Test("the regular files matching the glob, sorted; no hidden files, no directories")
    func matching() throws {
        let directory = try Self.makeDirectory()
        let data = try DataDirectory(path: directory.path)
        #expect(try FileSetPartitioner.files(matching: "in/*.csv", in: data) == ["in/a.csv", "in/b.csv"])
        #expect(try FileSetPartitioner.files(matching: "in/[ab].*", in: data) == ["in/a.csv", "in/b.csv"])
        #expect(try FileSetPartitioner.files(matching: "in/?.txt", in: data) == ["in/c.txt"])
        #expect(try FileSetPartitioner.files(matching: "in/*/*.csv", in: data) == ["in/2026/x.csv"])
        #expect(try FileSetPartitioner.files(matching: "./in/.h*", in: data) == ["in/.hidden.csv"])
        #expect(try FileSetPartitioner.files(matching: "top.csv", in: data) == ["top.csv"])
        #expect(try FileSetPartitioner.files(matching: "nothing/*.csv", in: data).isEmpty)
    }

    @Test("patterns that could leave the data directory are refused, and so is a match through a symbolic link out")
    func refusals() throws {
        let directory = try Self.makeDirectory()
        let outside = try TemporaryDirectory()
        try writeFile(outside.file("secret.csv"), "id,note\n1,x\n")
        let data = try DataDirectory(path: directory.path)
        for pattern in ["/etc/*", "../*", "in/../../*", "", "."] {
            #expect(throws: BatchError.self, "\(pattern)") { try FileSetPartitioner.files(matching: pattern, in: data) }
        }
        try FileManager.default.createSymbolicLink(
            atPath: directory.file("in/z.csv"), withDestinationPath: outside.file("secret.csv"))
        let error = #expect(throws: BatchError.self) { try FileSetPartitioner.files(matching: "in/*.csv", in: data) }
        #expect(error?.code == .invalidParameters)
    }

    @Test("one partition per file with deterministic names; no match is an error unless allowed")
    func partitionsAndEmpty() async throws {
        let directory = try Self.makeDirectory()
        let contexts = try await partitions(
            of: FileSetPartitioner { context in try context.parameters.string("pattern") }, gridSize: 1,
            directory: directory.path, params: #"{"pattern":"in/*.csv"}"#)
        #expect(contexts.keys.sorted() == ["file-0", "file-1"])
        #expect(try FilePartition(context: contexts["file-0"]!) == FilePartition(name: "in/a.csv"))
        #expect(try FilePartition(context: contexts["file-1"]!) == FilePartition(name: "in/b.csv"))
        await #expect(throws: BatchError.self) {
            _ = try await partitions(
                of: FileSetPartitioner(pattern: "in/*.json"), gridSize: 1, directory: directory.path)
        }
        let none = try await partitions(
            of: FileSetPartitioner(pattern: "in/*.json", allowEmpty: true), gridSize: 1, directory: directory.path)
        #expect(none.isEmpty)
    }

    @Test("plugged into a PartitionStep: each file read whole by its own partition")
    func endToEnd() async throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("drops"), withIntermediateDirectories: true)
        for file in 0..<12 {
            let notes = (1...25).map { Note(id: file * 100 + $0, note: "file \(file)") }
            try writeFile(directory.file("drops/orders-\(file).csv"), csvText(notes))
        }
        let read = Recorder<String>()
        let job = Job("load-drops") {
            PartitionStep(
                "load", partitions: 1, maxConcurrency: 3,
                partitioner: FileSetPartitioner(pattern: "drops/orders-*.csv"),
                step: ChunkStep(
                    "load-file", chunkSize: 10,
                    reader: { context in CSVReader<Note>(path: try await FilePartition(context).path(context)) },
                    processor: { (note: Note) -> Note? in note },
                    writer: { context in
                        ClosureItemWriter<Note> { notes in
                            read.append(contentsOf: notes.map { "\(context.partitionName ?? "?") \($0.id)" })
                        }
                    }))
        }
        .resource(try DataDirectory(path: directory.path))
        let jobOperator = try makeOperator(job)
        let execution = try await jobOperator.start("load-drops")
        #expect(execution.status == .completed)
        #expect(read.all.count == 300)
        let steps = try await jobOperator.execution(execution.id).steps.map(\.stepName).filter { $0.contains(":") }
        #expect(steps.sorted() == (0..<12).map { String(format: "load:file-%02d", $0) })
        // Sorted by name: orders-10.csv and orders-11.csv come before orders-2.csv.
        #expect(read.all.filter { $0.hasPrefix("file-02 ") }.first == "file-02 1001")
        #expect(Set(read.all.map { $0.split(separator: " ")[1] }).count == 300)
    }
}
