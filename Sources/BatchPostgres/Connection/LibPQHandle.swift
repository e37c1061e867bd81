import CLibPQ

/// The one owner of a libpq `PGconn`: finishes it when released.
///
/// Not Sendable: it lives inside a ``PostgresConnection`` actor and is only touched on that actor's thread (its
/// `deinit` may run wherever the actor is released, when nothing else can reach it any more).
final class LibPQHandle {
    /// The `PGconn *`.
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        PQfinish(pointer)
    }
}
