import Logging
import NIOCore

/// Closes a connection whose response writes make no progress for `limit`: a client that stopped reading (an event
/// stream it no longer drains, its window shut) would otherwise hold its connection, and an event stream's slot,
/// for ever. A write completes once the kernel takes it, so the stall shows once the socket buffers between server
/// and client are full. Writes that complete — the event stream's keep-alives do, every `--keep-alive` — keep the connection;
/// so does a connection with nothing to write (the idle timeout governs that).
final class StalledWriteHandler: ChannelOutboundHandler, RemovableChannelHandler {
    // What the pipeline writes (HTTP response parts) is passed on as it is, never unwrapped.
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private let limit: TimeAmount
    private let logger: Logger
    /// Writes handed on and not yet completed.
    private var pending = 0
    /// Since when the writes pending have made no progress (the first was handed on, or the last one completed).
    private var stalledSince: NIODeadline?
    private var check: RepeatedTask?

    /// A handler closing connections whose writes stall for `limit`.
    init(limit: TimeAmount, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let interval = TimeAmount.nanoseconds(max(100_000_000, limit.nanoseconds / 4))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (handler, context) = loopBound.value
            handler.closeIfStalled(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let written = promise ?? context.eventLoop.makePromise()
        pending += 1
        if pending == 1 { stalledSince = .now() }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in loopBound.value.completed() }
        context.write(data, promise: written)
    }

    private func completed() {
        pending -= 1
        stalledSince = pending > 0 ? .now() : nil
    }

    private func closeIfStalled(context: ChannelHandlerContext) {
        guard let since = stalledSince, NIODeadline.now() - since >= limit else { return }
        stalledSince = nil
        logger.info(
            "closing a connection whose client stopped reading",
            metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "stalled.for": "\(limit)"])
        context.close(promise: nil)
    }
}
