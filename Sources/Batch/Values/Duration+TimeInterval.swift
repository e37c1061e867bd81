import Foundation

extension Duration {
    /// The duration in seconds, as Foundation and PostgreSQL intervals take it.
    package var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
