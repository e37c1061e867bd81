import CLibPQ

/// The one owner of a libpq `PGconn`: finishes it when released.
///
/// Not Sendable: it lives inside a ``PostgresConnection`` actor and is only touched on that actor's thread (its
/// `deinit` may run wherever the actor is released, when nothing else can reach it any more).
final class LibPQHandle {
    /// The `PGconn *`.
    let pointer: OpaquePointer
    /// Set by the notice receiver when the server sent a `FATAL` (or `PANIC`) message outside a statement: its
    /// goodbye before it closes the session (`terminating connection due to administrator command`, an idle
    /// session timeout). The end of the connection may not have arrived yet, but the session is over.
    private let goodbye: UnsafeMutablePointer<Bool>

    /// Takes ownership of a connected `PGconn` and installs its notice receiver.
    ///
    /// libpq prints notices (`NOTICE: schema "batch" already exists, skipping`, the server's goodbye before it
    /// closes a connection) to stderr by default; a library must not write there. Errors reach callers as results,
    /// so notices are dropped, except that a fatal one marks the session as ended (``serverSaidGoodbye``).
    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
        goodbye = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
        goodbye.initialize(to: false)
        PQsetNoticeReceiver(
            pointer,
            { argument, result in
                guard let argument, let result else { return }
                let field = PQresultErrorField(result, Int32(UInt8(ascii: "V")))
                guard let field else { return }
                let severity = String(cString: field)
                if severity == "FATAL" || severity == "PANIC" {
                    argument.assumingMemoryBound(to: Bool.self).pointee = true
                }
            }, UnsafeMutableRawPointer(goodbye))
    }

    /// Whether the server announced that it is closing the session (see ``init(_:)``).
    var serverSaidGoodbye: Bool { goodbye.pointee }

    deinit {
        PQfinish(pointer)
        goodbye.deinitialize(count: 1)
        goodbye.deallocate()
    }
}
