import Batch

extension JobParameters {
    /// The integer parameter `key`, or `defaultValue` when it is absent, refused outside `range`: the demo jobs
    /// bound every number a message can give them, so a hostile value is a refused start, never a trap.
    /// - Throws: ``BatchError/Code/invalidParameters`` naming the parameter, its bounds and the value.
    func int(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        try bounded(key, int(key, default: defaultValue), range)
    }

    /// The integer parameter `key`, nil when it is absent, refused outside `range`.
    /// - Throws: ``BatchError/Code/invalidParameters`` naming the parameter, its bounds and the value.
    func optionalInt(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard self[key] != nil, self[key] != .null else { return nil }
        return try bounded(key, int(key), range)
    }

    private func bounded(_ key: String, _ value: Int, _ range: ClosedRange<Int>) throws -> Int {
        guard range.contains(value) else {
            throw BatchError(
                .invalidParameters,
                "job parameter '\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }
}
