import Foundation

/// Scheduling tests' instants, written as ISO 8601 UTC (`2026-03-29T01:00:00Z`, fractions allowed).
enum Instant {
    /// A table entry that is not an instant.
    struct NotAnInstant: Error { let text: String }

    /// The instant written `text`.
    static func at(_ text: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions =
            text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        guard let date = formatter.date(from: text) else { throw NotAnInstant(text: text) }
        return date
    }

    /// `date` as ISO 8601 UTC, for comparing with the tables.
    static func text(_ date: Date?) -> String {
        guard let date else { return "nil" }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = .gmt
        return formatter.string(from: date)
    }
}
