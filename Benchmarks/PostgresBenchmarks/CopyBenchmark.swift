import Batch
import BatchPostgres
import Foundation
import Logging
import Synchronization

/// Time spent inside the writer, over a run.
let writerNanoseconds = Atomic<Int>(0)

/// The rows both contestants load: an id, an account, an amount, a note with characters that need escaping.
struct LedgerRow: Sendable {
    let id: Int64
    let account: String
    let amount: Int64
    let note: String

    init(_ id: Int64) {
        self.id = id
        self.account = "ACC-\(id % 9_973)"
        self.amount = id &* 37 % 100_000 - 50_000
        self.note = "entry \(id), it's \"fine\""
    }

    var csvLine: String {
        "\(id),\(account),\(amount),\"\(note.replacingOccurrences(of: "\"", with: "\"\""))\"\n"
    }
}

/// Generates rows 1...count, restartable from its context.
struct GeneratedRows: ItemReader {
    let count: Int64
    private var next: Int64 = 1

    init(count: Int) { self.count = Int64(count) }

    mutating func open(_ context: ExecutionContext) async throws {
        next = context.int("rows.next").map(Int64.init) ?? 1
    }

    mutating func read() async throws -> LedgerRow? {
        guard next <= count else { return nil }
        defer { next += 1 }
        return LedgerRow(next)
    }

    func update(_ context: inout ExecutionContext) {
        context["rows.next"] = .int(next)
    }
}

/// The chunk step and `psql \copy` loading the same rows into the same (truncated) table.
struct CopyBenchmark {
    let repository: PostgresJobRepository
    let configuration: PostgresConfiguration
    let rows: Int
    let logger: Logger
    var table: String { "\(configuration.schema).ledger" }
    let csvPath = FileManager.default.temporaryDirectory.appendingPathComponent(
        "swift-batch-ledger-\(ProcessInfo.processInfo.processIdentifier).csv"
    ).path

    /// Creates the table.
    func prepare() async throws {
        try await repository.pool.withConnection { connection in
            try await connection.query(
                """
                CREATE TABLE "\(configuration.schema)".ledger (
                    id bigint NOT NULL, account text NOT NULL, amount bigint NOT NULL, note text NOT NULL)
                """)
        }
    }

    /// The psql script loading the rows as one `COPY` per 1,000 rows, in one transaction.
    var chunkedScriptPath: String { csvPath + ".chunked.sql" }

    /// Writes the rows as CSV for `psql \copy`, and as a script of 1,000-row `COPY` statements.
    func writeInputFiles() throws {
        _ = FileManager.default.createFile(atPath: csvPath, contents: nil)
        _ = FileManager.default.createFile(atPath: chunkedScriptPath, contents: nil)
        let csv = try FileHandle(forWritingTo: URL(fileURLWithPath: csvPath))
        let script = try FileHandle(forWritingTo: URL(fileURLWithPath: chunkedScriptPath))
        let copyStatement =
            "COPY \"\(configuration.schema)\".ledger (id, account, amount, note) FROM STDIN WITH (FORMAT csv);\n"
        var csvBuffer = ""
        var scriptBuffer = "BEGIN;\n"
        for id in 1...Int64(rows) {
            let line = LedgerRow(id).csvLine
            csvBuffer += line
            if id % 1_000 == 1 { scriptBuffer += copyStatement }
            scriptBuffer += line
            if id % 1_000 == 0 || id == Int64(rows) { scriptBuffer += "\\.\n" }
            if csvBuffer.utf8.count > 1 << 20 {
                csv.write(Data(csvBuffer.utf8))
                script.write(Data(scriptBuffer.utf8))
                csvBuffer = ""
                scriptBuffer = ""
            }
        }
        csv.write(Data(csvBuffer.utf8))
        script.write(Data((scriptBuffer + "COMMIT;\n").utf8))
        try csv.close()
        try script.close()
    }

    func truncate() async throws {
        try await repository.pool.withConnection { connection in
            try await connection.query("TRUNCATE \"\(configuration.schema)\".ledger")
        }
    }

    func count() async throws -> Int {
        try await repository.pool.withConnection { connection in
            try await connection.query("SELECT count(*) AS n FROM \"\(configuration.schema)\".ledger").single()
                .decode("n")
        }
    }

    /// The writer a chunk step uses.
    enum WriterKind: String, Sendable {
        /// `PostgresCopyItemWriter`.
        case copy
        /// `PostgresItemWriter` (INSERT ... unnest).
        case insert
    }

    func runChunkStep(
        trial: Int, writer kind: WriterKind = .copy, writeNothing: Bool = false
    ) async throws
        -> Duration
    {
        try? await truncate()
        let table = self.table
        let rows = self.rows
        let environment = ProcessInfo.processInfo.environment
        let rowsPerStatement = environment["BENCH_ROWS_PER_STATEMENT"].flatMap { Int($0) }
        let textFormat = environment["BENCH_COPY_TEXT"] == "1"
        let job = Job("copy-ledger") {
            ChunkStep(
                "copy", chunkSize: 1_000, reader: { _ in GeneratedRows(count: rows) },
                writer: { _ in
                    let columns = ["id", "account", "amount", "note"]
                    let values: @Sendable (LedgerRow) -> [PostgresValue?] = {
                        [.int($0.id), .text($0.account), .int($0.amount), .text($0.note)]
                    }
                    return LedgerWriter(
                        inner: kind == .copy
                            ? .copy(
                                try PostgresCopyItemWriter<LedgerRow>(
                                    table: table, columns: columns, rowsPerStatement: rowsPerStatement ?? 250,
                                    format: textFormat ? .text : .automatic, values: values))
                            : .insert(
                                try PostgresItemWriter<LedgerRow>(
                                    table: table, columns: columns, rowsPerStatement: rowsPerStatement ?? 250,
                                    values: values)),
                        writeNothing: writeNothing)
                })
        }
        let jobOperator = JobOperator(registry: try JobRegistry([job]), repository: repository, logger: logger)
        let start = ContinuousClock.now
        let execution = try await jobOperator.start(
            "copy-ledger", parameters: JobParameters(["trial": .int(Int64(trial)), "writer": .string(kind.rawValue)]))
        let elapsed = ContinuousClock.now - start
        precondition(execution.status == .completed, "chunk step ended \(execution.status): \(execution.exitMessage)")
        let loaded = try await count()
        precondition(loaded == (writeNothing ? 0 : rows), "chunk step loaded \(loaded) rows, expected \(rows)")
        return elapsed
    }

    /// Loads the rows with psql: one `\\copy` of the CSV file, or the script of 1,000-row `COPY`s.
    func runPsql(chunked: Bool) async throws -> Duration {
        try await runPsql(chunked ? ["-f", chunkedScriptPath] : ["-c", defaultCopyCommand])
    }

    /// Loads the rows with psql running `copyCommand` (a `\\copy`).
    func runPsql(copyCommand: String) async throws -> Duration {
        try await runPsql(["-c", copyCommand])
    }

    /// Loads the rows with psql running the script at `path`.
    func runPsql(script path: String) async throws -> Duration {
        try await runPsql(["-f", path])
    }

    private var defaultCopyCommand: String {
        "\\copy \"\(configuration.schema)\".ledger (id, account, amount, note) FROM '\(csvPath)' WITH (FORMAT csv)"
    }

    private func runPsql(_ command: [String]) async throws -> Duration {
        try? await truncate()
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = configuration.password ?? ""
        var arguments = [
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", configuration.host, "-p", String(configuration.port),
            "-U", configuration.user, "-d", configuration.database,
        ]
        arguments += command
        let start = ContinuousClock.now
        let status = try await Spawn.run(arguments, environment: environment)
        let elapsed = ContinuousClock.now - start
        precondition(status == 0, "psql exited with status \(status)")
        let loaded = try await count()
        precondition(loaded == rows, "psql loaded \(loaded) rows, expected \(rows)")
        return elapsed
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: csvPath)
        try? FileManager.default.removeItem(atPath: chunkedScriptPath)
    }
}

/// Runs a program to its end on a thread of its own.
enum Spawn {
    static func run(_ arguments: [String], environment: [String: String]) async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                var pid: pid_t = 0
                let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
                let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
                defer {
                    argv.forEach { free($0) }
                    envp.forEach { free($0) }
                }
                let spawned = posix_spawnp(&pid, arguments[0], nil, nil, argv, envp)
                guard spawned == 0 else {
                    continuation.resume(throwing: POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL))
                    return
                }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: status)
            }
            thread.start()
        }
    }
}

/// The PostgreSQL writer, or (to measure the engine and repository alone) nothing.
struct LedgerWriter: ItemWriter {
    enum Inner {
        case copy(PostgresCopyItemWriter<LedgerRow>)
        case insert(PostgresItemWriter<LedgerRow>)
    }

    var inner: Inner
    let writeNothing: Bool

    mutating func write(_ items: [LedgerRow], in transaction: any ChunkTransaction) async throws {
        let start = ContinuousClock.now
        if !writeNothing {
            switch inner {
            case .copy(var writer):
                try await writer.write(items, in: transaction)
                inner = .copy(writer)
            case .insert(var writer):
                try await writer.write(items, in: transaction)
                inner = .insert(writer)
            }
        }
        let elapsed = ContinuousClock.now - start
        writerNanoseconds.add(
            Int(elapsed.components.seconds) * 1_000_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000),
            ordering: .relaxed)
    }
}
