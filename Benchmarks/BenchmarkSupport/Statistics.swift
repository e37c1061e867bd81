import Foundation

/// The median of `values` (the mean of the middle two for an even count).
public func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// The median of `values` (the mean of the middle two for an even count).
public func median(_ values: [Duration]) -> Duration {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// `duration` in seconds.
public func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

extension Duration {
    /// In seconds, as a `Double`.
    public var seconds: Double { BenchmarkSupport.seconds(self) }
    /// In milliseconds, as a `Double`.
    public var milliseconds: Double { seconds * 1_000 }
}

extension Array where Element == Double {
    /// The median (the mean of the middle two for an even count); NaN when empty.
    public var median: Double { isEmpty ? .nan : BenchmarkSupport.median(self) }

    /// The `p`-th percentile by the nearest-rank method: the smallest value with at least p % of values at or
    /// below it; NaN when empty.
    public func percentile(_ p: Double) -> Double {
        guard !isEmpty else { return .nan }
        let sorted = self.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }
}

/// The CPU time this process has used so far (user and system, every thread), in seconds: on a machine shared with
/// other work it moves far less than the wall clock.
public func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
