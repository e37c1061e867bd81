/// Limits applied when decoding commands, replies and events.
public struct MessageLimits: Sendable, Hashable {
    /// The largest body accepted, in bytes. Default 64 KiB.
    public var maximumBodySize: Int

    /// Creates limits.
    ///
    /// - Parameter maximumBodySize: the largest body accepted, in bytes.
    public init(maximumBodySize: Int = 64 * 1024) {
        self.maximumBodySize = maximumBodySize
    }

    /// Above this size (16 times the limit, at least 1 MiB) a command or partition message is rejected by the
    /// connection before it is copied, so that a prefetch of huge bodies never sits in memory; the queue's
    /// dead-letter exchange takes it with `x-death` "rejected" and the worker logs why. A body between the limit and
    /// this size is read, refused and dead-lettered with its reason, as any invalid message.
    var rejectedUncopied: Int {
        let (scaled, overflow) = maximumBodySize.multipliedReportingOverflow(by: 16)
        return overflow ? Int.max : max(scaled, 1 << 20)
    }
}
