/// A random source that always gives the same bits: with ``Backoff``, 0 draws the shortest delay, `.max` (nearly)
/// the longest.
struct FixedRandom: RandomNumberGenerator {
    var value: UInt64

    mutating func next() -> UInt64 { value }
}

/// Whether two durations differ by less than a microsecond (jitter is applied in floating point).
func roughly(_ duration: Duration?, _ expected: Duration) -> Bool {
    guard let duration else { return false }
    let difference = duration - expected
    return difference < .microseconds(1) && difference > .microseconds(-1)
}
