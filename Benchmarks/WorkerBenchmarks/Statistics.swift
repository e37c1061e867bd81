import Foundation

extension Duration {
    /// In seconds, as a `Double`.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// In milliseconds, as a `Double`.
    var milliseconds: Double { seconds * 1_000 }
}

extension Array where Element == Double {
    /// The median (the mean of the middle two for an even count).
    var median: Double {
        guard !isEmpty else { return .nan }
        let sorted = self.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The `p`-th percentile by the nearest-rank method: the smallest value with at least p % of values at or
    /// below it.
    func percentile(_ p: Double) -> Double {
        guard !isEmpty else { return .nan }
        let sorted = self.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }
}

/// `value` with `decimals` digits after the point.
func format(_ value: Double, _ decimals: Int = 1) -> String {
    String(format: "%.\(decimals)f", value)
}

/// KiB as MiB with one decimal.
func mebibytes(_ kibibytes: Int) -> String { format(Double(kibibytes) / 1_024) + " MiB" }

/// Progress on standard error, so that standard output is the report alone.
func progress(_ text: String) {
    FileHandle.standardError.write(Data("· \(text)\n".utf8))
}
