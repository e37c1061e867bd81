import Batch
import Foundation

/// The day's orders file, `orders-<date>.csv` in the data directory (`BATCH_DATA_DIR`): a real application would
/// find it there, dropped by another system; this one writes it when it is missing.
struct OrdersFile: Sendable {
    /// The file's absolute path, inside the data directory.
    let path: String

    /// The orders file of `day` in `directory`.
    init(for day: CalendarDay, in directory: DataDirectory) throws {
        path = try directory.resolve("orders-\(day).csv")
    }

    /// Whether the file is there.
    var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// The number of malformed lines ``generate(orders:day:)`` writes beside the orders.
    static let malformedLines = 3

    /// Writes `orders` orders of 1,000 customers, the same for the same day, with every 50th order cancelled and
    /// three malformed lines among them (an order id that is no number, a missing field, an amount that is no
    /// number). Written to `<file>.part`, then renamed: the file appears whole or not at all.
    func generate(orders: Int, day: CalendarDay) throws {
        var random = SplitMix64(seed: UInt64(day.year * 10_000 + day.month * 100 + day.day))
        let malformed = [
            "not-a-number,17,12.50,paid", "999999991,42", "999999992,42,n/a,paid",
        ]
        // The malformed lines go after the orders at a quarter, a half and three quarters of the file.
        let malformedAfter = (1...Self.malformedLines).map { max(1, orders * $0 / (Self.malformedLines + 1)) }
        let part = path + ".part"
        guard FileManager.default.createFile(atPath: part, contents: nil),
            let handle = FileHandle(forWritingAtPath: part)
        else { throw BatchError(.fileFailure, "cannot create \(part)") }
        defer { try? handle.close() }
        var text = "order_id,customer_id,amount,status\n"
        for order in 1...orders {
            let customer = random.next() % 1_000 + 1
            let cents = random.next() % 50_000 + 100
            let status = order % 50 == 0 ? "cancelled" : "paid"
            text += "\(order),\(customer),\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100),\(status)\n"
            for (index, after) in malformedAfter.enumerated() where after == order { text += malformed[index] + "\n" }
            if text.utf8.count > 1 << 20 {
                try handle.write(contentsOf: Data(text.utf8))
                text = ""
            }
        }
        try handle.write(contentsOf: Data(text.utf8))
        try handle.synchronize()
        try FileManager.default.moveItem(atPath: part, toPath: path)
    }
}

/// A small, fast pseudo-random generator: the same seed gives the same orders.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
