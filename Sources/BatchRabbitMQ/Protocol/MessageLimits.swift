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
}
