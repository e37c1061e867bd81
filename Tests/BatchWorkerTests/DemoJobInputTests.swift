import BatchPostgres
import Foundation
import Testing

/// The demo jobs bound every number a message can give them and choose no path from a message: a bad value is a
/// refused start (nothing stored, nothing run), never a trap that kills the process with its other jobs.
@Suite("Demo job input", .timeLimit(.minutes(2)))
struct DemoJobInputTests {
    static let refusals: [(String, String, String)] = [
        ("count", #"{"chunkSize":0}"#, "'chunkSize' must be between 1 and 100000, got 0"),
        ("count", #"{"chunkSize":1000000000}"#, "'chunkSize' must be between 1 and 100000"),
        ("count", #"{"items":10000001}"#, "'items' must be between 0 and 10000000"),
        ("count", #"{"delayMs":9223372036854775807}"#, "'delayMs' must be between 0 and 60000"),
        ("count", #"{"delayMs":-1}"#, "'delayMs' must be between 0 and 60000"),
        ("count", #"{"delayMs":60000,"chunkSize":100000}"#, "'delayMs' × 'chunkSize' must be at most 600000"),
        ("count", #"{"delayMs":60000}"#, "got 6000000"),
        ("count", #"{"failAt":0}"#, "'failAt' must be between 1 and 10000000"),
        ("count", #"{"failAt":1e300}"#, "'failAt' must be an integer"),
        ("daily-accounting", #"{"date":"2026-11-25","rows":9223372036854775807}"#, "'rows' must be between 1 and"),
        ("daily-accounting", #"{"date":"2026-11-25","rows":0}"#, "'rows' must be between 1 and"),
        ("daily-accounting", #"{"date":"2026-11-25","accounts":9223372036854775807}"#, "'accounts' must be between"),
        ("daily-accounting", #"{"date":"2026-02-30"}"#, "'date' must be a date"),
        ("daily-accounting", #"{"date":"2026-11-25","dataDir":"/tmp"}"#, "'dataDir' is not accepted"),
        ("daily-accounting", #"{"date":"2026-11-25","acounts":5}"#, "'acounts' is not accepted"),
        ("hello", #"{"who":1}"#, "'who' must be a string"),
    ]

    @Test("out-of-range parameters refuse the start in the process that runs jobs", arguments: refusals)
    func refused(job: String, parameters: String, message: String) async throws {
        let (status, output) = try await OfflineCLI.run(["run", job, "--in-memory", "--params", parameters])
        #expect(status == 1, "\(output)")
        #expect(output.contains(message), "\(output)")
        #expect(output.contains("invalidParameters"), "refused before a run: \(output)")
    }

    @Test("daily-accounting runs --in-memory on its own database resource; its file goes in BATCH_DATA_DIR only")
    func dataDirectory() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "demo-data-\(UUID().uuidString.prefix(8))"
        ).path
        let schema = "demo_mem_" + String(UInt32.random(in: .min ... .max), radix: 36)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Only the job repository is in memory: the job's own tables go to the demo database (a resource of the job,
        // not the repository's connection), here the test database, while BATCH_DATABASE_URL stays unreachable.
        let (status, output) = try await OfflineCLI.run(
            ["run", "daily-accounting", "--in-memory", "--params", #"{"date":"2026-11-25","rows":10,"accounts":2}"#],
            environment: [
                "BATCH_DATA_DIR": root + "/data", "BATCH_DEMO_DATABASE_URL": EndToEnd.databaseURL,
                "BATCH_DEMO_SCHEMA": schema,
            ])
        let pool = PostgresConnectionPool(
            configuration: try PostgresConfiguration(url: EndToEnd.databaseURL), logger: EndToEnd.logger)
        let entries = try? await pool.withConnection { connection in
            return try await connection.query("SELECT count(*) AS n FROM \(schema).ledger").single().decode(
                "n", as: Int64.self)
        }
        _ = try? await pool.withConnection { connection in
            try await connection.query("DROP SCHEMA IF EXISTS \(schema) CASCADE")
        }
        await pool.shutdown()
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/data")
        #expect(files == ["transactions-2026-11-25-10x2.csv"], "\(output)")
        #expect(status == 0, "\(output)")
        #expect(entries == 10, "the ledger rows went to the demo database: \(output)")
    }
}
