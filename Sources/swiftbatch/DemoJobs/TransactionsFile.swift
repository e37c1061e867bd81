import Batch
import Foundation

/// A day's transactions file: `transactions-<date>-<rows>x<accounts>.csv` in the worker's data directory
/// (`BATCH_DATA_DIR`), generated deterministically from the date. The parameters are checked again here (a restart
/// runs without the validator) so no stored value can make the generator trap.
struct TransactionsFile {
    let path: String
    let date: String
    let rows: Int
    let accounts: Int

    init(_ parameters: JobParameters) throws {
        _ = try parameters.date("date")
        date = try parameters.string("date")
        rows = try parameters.int("rows", default: 100_000, in: DailyAccountingLimits.rows)
        accounts = try parameters.int("accounts", default: 1_000, in: DailyAccountingLimits.accounts)
        path = try DataDirectory.fromEnvironment().resolve("transactions-\(date)-\(rows)x\(accounts).csv")
    }

    /// Writes the file under a temporary name and renames it into place, so a crash never leaves half a file.
    func generate() throws {
        var generator = SplitMix64(seed: UInt64(truncatingIfNeeded: date.hashValueStable))
        var text = "id,account,amount_cents\n"
        text.reserveCapacity(rows * 24)
        for id in 1...rows {
            let account = Int(generator.next() % UInt64(accounts)) + 1
            let amount = Int64(generator.next() % 200_000) - 100_000
            text += "\(id),\(account),\(amount)\n"
        }
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, path) != 0 {
            throw BatchError(
                .invalidState, "could not move \(temporary) to \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// A small deterministic generator (SplitMix64), so a date always yields the same file.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    /// FNV-1a of the UTF-8 bytes: stable across runs (`hashValue` is seeded per process).
    var hashValueStable: UInt64 {
        utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}

/// Reads a text file line by line, keeping the number of lines read in the step context so a restart resumes
/// after the last committed line.
struct LineReader: ItemReader {
    let path: String
    let skipHeader: Bool
    private var lines: [Substring] = []
    private var index = 0

    init(path: String, skipHeader: Bool) {
        self.path = path
        self.skipHeader = skipHeader
    }

    mutating func open(_ context: ExecutionContext) async throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchError(.invalidState, "cannot read \(path)")
        }
        lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        index = context.int("line.index") ?? (skipHeader ? 1 : 0)
    }

    mutating func read() async throws -> String? {
        guard index < lines.count else { return nil }
        defer { index += 1 }
        return String(lines[index])
    }

    func update(_ context: inout ExecutionContext) {
        context["line.index"] = .int(Int64(index))
    }
}
