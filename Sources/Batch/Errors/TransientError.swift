/// An error that knows whether trying the same thing again could succeed.
///
/// Only a failure of the way to a server is transient: the connection was lost or refused, the server is shutting
/// down or starting, it ran out of connections. A value the server refuses, a statement it cannot run, bad input and a
/// wrong password fail the same way every time, so whatever met them is given up at once (a command is
/// dead-lettered, an outcome write is not retried) instead of being tried again in a loop.
///
/// `PostgresError` conforms; ``BatchError`` defers to the error underneath it; an error that does not conform
/// (`AMQPError` among them) counts as transient. Use `error.isTransient` to classify any error.
public protocol TransientClassifying: Error {
    /// Whether trying again later could succeed.
    var isTransient: Bool { get }
}

extension BatchError: TransientClassifying {
    /// A ``BatchError`` is transient when the error underneath it is (a repository failure caused by a lost
    /// connection); every code of the engine's own rules is permanent.
    public var isTransient: Bool {
        guard let underlying else { return false }
        return underlying.isTransient
    }
}

extension Error {
    /// Whether trying again later could succeed: the error's own classification when it has one
    /// (``TransientClassifying``), otherwise `true` — an error nobody classified is retried, within whatever bound
    /// the caller sets (a command's attempt limit, an outcome write's deadline), never forever.
    public var isTransient: Bool {
        if let classified = self as? any TransientClassifying { return classified.isTransient }
        if self is CancellationError { return false }
        return true
    }
}
