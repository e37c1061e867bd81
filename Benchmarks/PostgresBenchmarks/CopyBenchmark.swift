import Batch
import BatchPostgres
import Foundation
import Logging

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

    func prepare() async throws {
        try await repository.pool.withConnection { connection in
            try await connection.query(
                """
                CREATE TABLE "\(configuration.schema)".ledger (
                    id bigint NOT NULL, account text NOT NULL, amount bigint NOT NULL, note text NOT NULL)
                """)
        }
        _ = FileManager.default.createFile(atPath: csvPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: csvPath))
        var buffer = ""
        for id in 1...Int64(rows) {
            buffer += LedgerRow(id).csvLine
            if buffer.utf8.count > 1 << 20 {
                handle.write(Data(buffer.utf8))
                buffer = ""
            }
        }
        handle.write(Data(buffer.utf8))
        try handle.close()
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

    func runChunkStep(trial: Int, writeNothing: Bool = false) async throws -> Duration {
        try? await truncate()
        let table = self.table
        let rows = self.rows
        let job = Job("copy-ledger") {
            ChunkStep(
                "copy", chunkSize: 1_000, reader: { _ in GeneratedRows(count: rows) },
                writer: { _ in
                    LedgerWriter(
                        inner: try PostgresItemWriter<LedgerRow>(
                            table: table, columns: ["id", "account", "amount", "note"]
                        ) { [.int($0.id), .text($0.account), .int($0.amount), .text($0.note)] },
                        writeNothing: writeNothing)
                })
        }
        let jobOperator = JobOperator(registry: try JobRegistry([job]), repository: repository, logger: logger)
        let start = ContinuousClock.now
        let execution = try await jobOperator.start(
            "copy-ledger", parameters: JobParameters(["trial": .int(Int64(trial))]))
        let elapsed = ContinuousClock.now - start
        precondition(execution.status == .completed, "chunk step ended \(execution.status): \(execution.exitMessage)")
        let loaded = try await count()
        precondition(loaded == (writeNothing ? 0 : rows), "chunk step loaded \(loaded) rows, expected \(rows)")
        return elapsed
    }

    func runPsqlCopy() async throws -> Duration {
        try? await truncate()
        let command =
            "\\copy \"\(configuration.schema)\".ledger (id, account, amount, note) FROM '\(csvPath)' WITH (FORMAT csv)"
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = configuration.password ?? ""
        let arguments = [
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", configuration.host, "-p", String(configuration.port),
            "-U", configuration.user, "-d", configuration.database, "-c", command,
        ]
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
    var inner: PostgresItemWriter<LedgerRow>
    let writeNothing: Bool

    mutating func write(_ items: [LedgerRow], in transaction: any ChunkTransaction) async throws {
        if !writeNothing { try await inner.write(items, in: transaction) }
    }
}
