import Batch
import BatchFiles
import BatchPostgres
import Foundation

extension DemoJobs {
    /// `daily-accounting`, the seed's example, for one `date` (`yyyy-MM-dd`):
    /// 1. `generate-transactions`: writes that day's transactions file (100,000 rows over 1,000 accounts,
    ///    deterministic for the date) if it is missing, and creates the demo tables;
    /// 2. `load-ledger`: a chunk step streaming the file into `batch_demo.ledger` (a restart resumes at the byte
    ///    offset of the last committed chunk);
    /// 3. `daily-balances`: each account's balance for the day, in 8 remote partitions of account ranges (any worker);
    /// 4. `summary`: totals, checked against the ledger, kept in the job's context.
    ///
    /// Parameters: `date` (required, a real `yyyy-MM-dd` day), `rows` (1…10,000,000, default 100,000) and `accounts`
    /// (1…1,000,000, default 1,000); anything else (another value or another parameter) refuses the start, nothing
    /// stored. The file goes in the worker's data directory (`BATCH_DATA_DIR`, default the system's temporary
    /// directory): a message never chooses where.
    static let dailyAccounting = Job("daily-accounting") {
        Step("generate-transactions") { context in
            let file = try TransactionsFile(context.parameters)
            if !FileManager.default.fileExists(atPath: file.path) {
                try file.generate()
                context.logger.info("transactions file written", metadata: ["file": "\(file.path)"])
            }
            try await database(context).withConnection { connection in
                try await connection.withTransaction { connection in try await createTables(on: connection) }
            }
        }
        ChunkStep(
            "load-ledger", chunkSize: 1_000,
            // Streams the file, keeping its byte offset in the step's context: a restart resumes after the last
            // committed chunk.
            reader: { context in
                CSVReader(path: try TransactionsFile(context.parameters).path, map: LedgerEntry.init(record:))
            },
            writer: { context in
                let day = try context.parameters.string("date")
                // In the chunk transaction when the repository is PostgreSQL on the demo database; on the demo
                // database's pool otherwise (`run --in-memory`).
                return try PostgresItemWriter<LedgerEntry>(
                    table: "\(schema).ledger", columns: ["day", "transaction_id", "account", "amount_cents"],
                    pool: try await database(context)
                ) { entry in [.text(day), .int(Int64(entry.id)), .int(Int64(entry.account)), .int(entry.amountCents)] }
            })
        PartitionStep(
            "daily-balances", partitions: 8, partitioner: AccountRanges(),
            step: Step("balance-range") { context in
                let day = try context.parameters.string("date")
                guard let first = context.stepContext.int("firstAccount"),
                    let last = context.stepContext.int("lastAccount")
                else { throw BatchError(.invalidState, "partition context lacks its account range") }
                let rows = try await database(context).withConnection { connection in
                    try await connection.query(
                        """
                        INSERT INTO \(schema).balances (day, account, balance_cents, entries)
                        SELECT day, account, sum(amount_cents), count(*) FROM \(schema).ledger
                         WHERE day = $1::date AND account BETWEEN $2 AND $3 GROUP BY day, account
                        ON CONFLICT (day, account) DO UPDATE
                           SET balance_cents = EXCLUDED.balance_cents, entries = EXCLUDED.entries
                        """, [.text(day), .int(Int64(first)), .int(Int64(last))])
                }
                context.stepContext["accounts"] = .int(Int64(rows.affectedRows))
            }
        )
        .remote()  // the 8 partitions run across the fleet
        Step("summary") { context in
            let day = try context.parameters.string("date")
            let row = try await database(context).withConnection { connection in
                try await connection.query(
                    """
                    SELECT (SELECT count(*) FROM \(schema).balances WHERE day = $1::date) AS accounts,
                           (SELECT coalesce(sum(balance_cents), 0) FROM \(schema).balances WHERE day = $1::date) AS total,
                           (SELECT coalesce(sum(amount_cents), 0) FROM \(schema).ledger WHERE day = $1::date) AS ledger,
                           (SELECT count(*) FROM \(schema).ledger WHERE day = $1::date) AS entries
                    """, [.text(day)]
                ).single()
            }
            let accounts: Int64 = try row.decode("accounts")
            let total: Int64 = try row.decode("total")
            let ledger: Int64 = try row.decode("ledger")
            let entries: Int64 = try row.decode("entries")
            guard total == ledger else {
                throw BatchError(.stepFailed, "balances (\(total)) do not add up to the ledger (\(ledger))")
            }
            context.jobContext["summary"] = [
                "accounts": .int(accounts), "entries": .int(entries), "totalCents": .int(total),
            ]
            context.logger.info(
                "daily accounting done",
                metadata: [
                    "date": "\(day)", "accounts": "\(accounts)", "entries": "\(entries)", "total.cents": "\(total)",
                ])
        }
    }
    .resource(DemoDatabase.self, make: openDatabase, close: { await $0.shutdown() })
    .validator { parameters in
        if let unknown = parameters.values.keys.sorted().first(where: { !Self.dailyAccountingParameters.contains($0) })
        {
            throw BatchError(
                .invalidParameters,
                "job parameter '\(unknown.prefix(100))' is not accepted: daily-accounting takes "
                    + Self.dailyAccountingParameters.sorted().map { "'\($0)'" }.joined(separator: ", "))
        }
        _ = try parameters.date("date")
        _ = try parameters.int("rows", default: 100_000, in: DailyAccountingLimits.rows)
        _ = try parameters.int("accounts", default: 1_000, in: DailyAccountingLimits.accounts)
    }

    /// The parameters `daily-accounting` takes; any other refuses the start (a misspelt `acounts` is not ignored).
    static let dailyAccountingParameters: Set<String> = ["date", "rows", "accounts"]
}

/// The bounds of `daily-accounting`'s parameters.
enum DailyAccountingLimits {
    static let rows = 1...10_000_000
    static let accounts = 1...1_000_000
}

/// Splits the accounts 1…`accounts` into contiguous ranges, one per partition.
struct AccountRanges: Partitioner {
    func partition(gridSize: Int, context: StepContext) async throws -> [String: ExecutionContext] {
        let accounts = try context.parameters.int("accounts", default: 1_000, in: DailyAccountingLimits.accounts)
        let gridSize = max(gridSize, 1)
        let size = (accounts + gridSize - 1) / gridSize
        var partitions: [String: ExecutionContext] = [:]
        for index in 0..<gridSize where index * size < accounts {
            partitions[String(format: "accounts-%02d", index)] = ExecutionContext([
                "firstAccount": .int(Int64(index * size + 1)),
                "lastAccount": .int(Int64(min(accounts, (index + 1) * size))),
            ])
        }
        return partitions
    }
}

/// One row of the transactions file: `id,account,amount_cents`.
struct LedgerEntry: Sendable {
    let id: Int
    let account: Int
    let amountCents: Int64

    init(record: CSVRecord) throws {
        id = try record.decode(Int.self, "id")
        account = try record.decode(Int.self, "account")
        amountCents = try record.decode(Int64.self, "amount_cents")
    }
}
