import Batch

/// The parameters of `import-orders`, as a start gives them: `{"date": "2026-11-25", "orders": 5000}`.
///
/// `date` identifies the job instance (one import per day); `orders` and `throttleMs` do not
/// (``importOrders`` marks them non-identifying), so changing them does not make a new instance.
struct ImportOrdersParameters: Codable, Sendable {
    /// The day whose orders are imported.
    var date: CalendarDay
    /// How many orders the day's file holds when the job has to generate it (default 200,000).
    var orders: Int?
    /// A pause after each chunk of the load, in milliseconds (default none): it leaves the database room at busy
    /// hours, and gives a demonstration time to stop the job halfway.
    var throttleMs: Int?

    /// The number of orders to generate.
    var orderCount: Int { orders ?? 200_000 }

    /// The bounds a start's parameters must keep.
    static let orderLimits = 1...10_000_000
    static let throttleLimits = 0...10_000

    /// Refuses out-of-range values before anything is stored.
    /// - Throws: ``BatchError/Code/invalidParameters`` naming the parameter.
    func validate() throws {
        for (key, value, limits) in [
            ("orders", orderCount, Self.orderLimits), ("throttleMs", throttleMs ?? 0, Self.throttleLimits),
        ]
        where !limits.contains(value) {
            throw BatchError(
                .invalidParameters,
                "job parameter '\(key)' must be between \(limits.lowerBound) and \(limits.upperBound)")
        }
    }
}
