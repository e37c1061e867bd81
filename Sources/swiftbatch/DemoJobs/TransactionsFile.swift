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

    /// Writes the file under a temporary name of its own and renames it into place, so a crash never leaves half a
    /// file and two processes generating it at once (two containers, each PID 1) never write into one another's.
    /// Rows go out a megabyte at a time: ten million of them never sit in memory.
    func generate() throws {
        let temporary = path + ".tmp-" + UUID().uuidString
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporary)
        else { throw BatchError(.invalidState, "could not create \(temporary)") }
        do {
            var generator = SplitMix64(seed: UInt64(truncatingIfNeeded: date.hashValueStable))
            var text = "id,account,amount_cents\n"
            text.reserveCapacity(Self.flushSize + 64)
            for id in 1...rows {
                let account = Int(generator.next() % UInt64(accounts)) + 1
                let amount = Int64(generator.next() % 200_000) - 100_000
                text += "\(id),\(account),\(amount)\n"
                if text.utf8.count >= Self.flushSize {
                    try handle.write(contentsOf: Data(text.utf8))
                    text.removeAll(keepingCapacity: true)
                }
            }
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            unlink(temporary)
            throw BatchError(.invalidState, "could not write \(temporary): \(error)", underlying: error)
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw BatchError(.invalidState, "could not move \(temporary) to \(path): \(reason)")
        }
    }

    /// How much text is written at a time.
    private static let flushSize = 1 << 20
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
