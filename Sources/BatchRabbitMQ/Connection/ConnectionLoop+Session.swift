import CRabbitMQ
import CRabbitMQShim
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Connecting, reconnecting, checking replies and handling closes. All on the I/O thread.
extension ConnectionLoop {
    /// Opens the socket (TCP or TLS), logs in and opens the control channel.
    func establish() throws {
        guard let state = amqp_new_connection() else { throw AMQPError(.connectionFailed, "out of memory") }
        var established = false
        defer { if !established { amqp_destroy_connection(state) } }
        let target = configuration.redactedURL

        let socket: OpaquePointer?
        if let tls = configuration.tls {
            socket = amqp_ssl_socket_new(state)
            guard let socket else { throw AMQPError(.connectionFailed, "could not create a TLS socket for \(target)") }
            amqp_ssl_socket_set_verify_peer(socket, tls.verifyPeer ? 1 : 0)
            amqp_ssl_socket_set_verify_hostname(socket, tls.verifyHostname ? 1 : 0)
            if let caFile = tls.caFile {
                let status = amqp_ssl_socket_set_cacert(socket, caFile)
                guard status == AMQP_STATUS_OK.rawValue else {
                    throw AMQPError(
                        .invalidConfiguration,
                        "cannot use CA file '\(caFile)': \(Self.describe(status: status))")
                }
            }
            if let certificate = tls.certificateFile, let key = tls.keyFile {
                let status = amqp_ssl_socket_set_key(socket, certificate, key)
                guard status == AMQP_STATUS_OK.rawValue else {
                    throw AMQPError(
                        .invalidConfiguration,
                        "cannot use client certificate '\(certificate)': \(Self.describe(status: status))")
                }
            }
        } else {
            socket = amqp_tcp_socket_new(state)
            guard socket != nil else { throw AMQPError(.connectionFailed, "could not create a socket for \(target)") }
        }

        var connectTimeout = Self.cTimeval(configuration.connectTimeout)
        let opened = amqp_socket_open_noblock(socket, configuration.host, Int32(configuration.port), &connectTimeout)
        guard opened == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionFailed, "cannot connect to \(target): \(Self.describe(status: opened))")
        }
        _ = amqp_set_handshake_timeout(state, &connectTimeout)
        var rpcTimeout = Self.cTimeval(configuration.rpcTimeout)
        _ = amqp_set_rpc_timeout(state, &rpcTimeout)

        let heartbeat = Int32(configuration.heartbeat.components.seconds)
        let reply = CArena.with { arena -> amqp_rpc_reply_t in
            var clientProperties: [String: AMQPFieldValue] = [
                "product": "swift-batch",
                "capabilities": .table([
                    "consumer_cancel_notify": true, "publisher_confirms": true, "basic.nack": true,
                    "connection.blocked": true, "authentication_failure_close": true,
                ]),
            ]
            if let name = configuration.connectionName { clientProperties["connection_name"] = .string(name) }
            var table = arena.table(clientProperties)
            return CRabbitMQShim_login(
                state, arena.cString(configuration.virtualHost), 0, Int32(configuration.frameMax), heartbeat, &table,
                arena.cString(configuration.username), arena.cString(configuration.password))
        }
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL: break
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let text = String(amqpBytes: close.reply_text)
            let code: AMQPError.Code =
                close.reply_code == 403 || close.reply_code == 530 ? .authenticationFailed : .connectionFailed
            throw AMQPError(
                code,
                "the broker at \(target) refused user '\(configuration.username)' on virtual host"
                    + " '\(configuration.virtualHost)': \(close.reply_code) \(text)",
                replyCode: Int(close.reply_code))
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw AMQPError(
                .connectionFailed, "logging in to \(target) failed: \(Self.describe(status: reply.library_error))")
        default:
            throw AMQPError(.connectionFailed, "logging in to \(target) failed")
        }
        connection = state
        established = true
        channels.controlChannelOpen = false
        publisher.connectionEstablished()
        try ensureControlChannel()
        logger.info("connected to the broker")
    }

    /// Tries to connect again; on success replays the declarations, restarts the consumers, resends the messages
    /// that were not confirmed and runs the tasks that waited.
    func reconnect() {
        do {
            try establish()
            try restore()
            reconnection.succeeded()
            logger.info("reconnected to the broker")
        } catch {
            if let state = connection {
                connection = nil
                amqp_destroy_connection(state)
            }
            var random = SystemRandomNumberGenerator()
            let delay = reconnection.attemptFailed(now: .now, using: &random)
            logger.warning(
                "reconnecting failed; trying again",
                metadata: ["error": "\(error)", "amqp.retry.delay": "\(delay)"])
        }
    }

    private func restore() throws {
        try replayDeclarations()
        let plan = channels.restorePlan()
        for record in plan.removed { record.buffer.finish() }
        for channel in plan.restart {
            do {
                try startConsumer(channel)
            } catch {
                guard connection != nil else { throw error }
                scheduleRetry(channel, because: error)
            }
        }
        for pending in publisher.takeWaiting() { send(pending) }
        let tasks = deferredTasks
        deferredTasks.removeAll()
        for task in tasks {
            if connection == nil { deferredTasks.append(task) } else { task.run(self) }
        }
        guard connection != nil else { throw AMQPError(.connectionLost, "the connection broke while restoring it") }
    }

    /// Declares every remembered declaration again; one the broker refuses is logged and skipped.
    func replayDeclarations() throws {
        for declaration in reconnection.declarations {
            do {
                try declare(declaration)
            } catch {
                guard connection != nil else { throw error }
                logger.error("redeclaring failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Forgets the broken connection and schedules the reconnect. Idempotent.
    func connectionLost(_ reason: String) {
        guard let state = connection else { return }
        connection = nil
        amqp_destroy_connection(state)
        publisher.connectionLost()
        for (record, removed) in channels.connectionLost() {
            record.buffer.discardAll()
            if removed { record.buffer.finish() }
        }
        var random = SystemRandomNumberGenerator()
        reconnection.connectionLost(now: .now, using: &random)
        logger.warning("connection to the broker lost; reconnecting", metadata: ["reason": "\(reason)"])
    }

    // MARK: - Replies

    /// Throws if the last synchronous request on `channel` failed; handles the channel or connection close.
    func checkReply(_ context: @autoclosure () -> String, channel: UInt16) throws {
        guard let state = connection else {
            throw AMQPError(.connectionLost, "\(context()): the connection was lost; it is being re-established")
        }
        try check(amqp_get_rpc_reply(state), context: context(), channel: channel)
    }

    func check(_ reply: amqp_rpc_reply_t, context: String, channel: UInt16) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            let error = AMQPError.brokerRefused(
                context, replyCode: Int(close.reply_code), replyText: String(amqpBytes: close.reply_text))
            sendChannelCloseOk(channel)
            channelClosedByBroker(channel, error: error)
            throw error
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let text = "\(close.reply_code) \(String(amqpBytes: close.reply_text))"
            sendConnectionCloseOk()
            connectionLost("\(context): the broker closed the connection: \(text)")
            throw AMQPError(
                .connectionLost, "\(context): the broker closed the connection: \(text)",
                replyCode: Int(close.reply_code))
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            let reason = Self.describe(status: reply.library_error)
            connectionLost("\(context): \(reason)")
            throw AMQPError(.connectionLost, "\(context): \(reason); the connection is being re-established")
        default:
            connectionLost("\(context): no reply")
            throw AMQPError(.connectionLost, "\(context): no reply; the connection is being re-established")
        }
    }

    func sendChannelCloseOk(_ channel: UInt16) {
        guard let state = connection else { return }
        var closeOk = amqp_channel_close_ok_t(dummy: 0)
        let status = amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &closeOk)
        if status != AMQP_STATUS_OK.rawValue { connectionLost("sending channel.close-ok failed") }
    }

    func sendConnectionCloseOk() {
        guard let state = connection else { return }
        var closeOk = amqp_connection_close_ok_t(dummy: 0)
        _ = amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &closeOk)
    }

    /// The broker closed `channel` (it has been answered with close-ok): whatever used it starts over.
    func channelClosedByBroker(_ channel: UInt16, error: AMQPError) {
        logger.warning("the broker closed a channel", metadata: ["amqp.channel": "\(channel)", "error": "\(error)"])
        if channel == controlChannel {
            channels.controlChannelOpen = false
        } else if channel == publishChannel {
            for pending in publisher.channelClosed() { pending.fail(error) }
        } else {
            switch channels.channelClosed(channel) {
            case .removed(let record)?:
                record.buffer.discardAll()
                record.buffer.finish()
            case .retry(let record)?:
                record.buffer.discardAll()
                scheduleRetry(channel, because: error)
            case nil:
                break
            }
        }
    }

    // MARK: - Channels and declarations

    func openChannel(_ channel: UInt16) throws {
        guard let state = connection else { throw AMQPError(.connectionLost, "the connection is being re-established") }
        cork(false)  // the request waits for its reply: nothing may hold it back
        amqp_channel_open(state, channel)
        try checkReply("opening channel \(channel)", channel: channel)
    }

    func ensureControlChannel() throws {
        guard !channels.controlChannelOpen else { return }
        try openChannel(controlChannel)
        channels.controlChannelOpen = true
    }

    /// Declares one exchange, queue or binding on the control channel.
    func declare(_ declaration: AMQPDeclaration) throws {
        try ensureControlChannel()
        guard let state = connection else { throw AMQPError(.connectionLost, "the connection is being re-established") }
        CArena.with { arena in
            switch declaration {
            case .exchange(let name, let type, let durable, let autoDelete, let arguments):
                amqp_exchange_declare(
                    state, controlChannel, arena.bytes(name), arena.bytes(type.rawValue), 0, durable ? 1 : 0,
                    autoDelete ? 1 : 0, 0, arena.table(arguments))
            case .queue(let name, let durable, let exclusive, let autoDelete, let arguments):
                amqp_queue_declare(
                    state, controlChannel, arena.bytes(name), 0, durable ? 1 : 0, exclusive ? 1 : 0,
                    autoDelete ? 1 : 0, arena.table(arguments))
            case .binding(let queue, let exchange, let routingKey, let arguments):
                amqp_queue_bind(
                    state, controlChannel, arena.bytes(queue), arena.bytes(exchange), arena.bytes(routingKey),
                    arena.table(arguments))
            }
        }
        try checkReply("declaring \(declaration.subject)", channel: controlChannel)
    }

    /// The number of ready messages and of consumers of a queue (a passive declare).
    func queueStatus(_ queue: String) throws -> (messages: Int, consumers: Int) {
        try ensureControlChannel()
        guard let state = connection else { throw AMQPError(.connectionLost, "the connection is being re-established") }
        let ok = CArena.with { arena in
            amqp_queue_declare(state, controlChannel, arena.bytes(queue), 1, 0, 0, 0, amqp_empty_table)
        }
        try checkReply("looking up queue '\(queue)'", channel: controlChannel)
        guard let ok else { throw AMQPError(.protocolError, "looking up queue '\(queue)': no answer") }
        return (Int(ok.pointee.message_count), Int(ok.pointee.consumer_count))
    }

    /// Deletes a queue (whatever it holds) or an exchange; deleting what does not exist is not an error.
    func delete(queue: String?, exchange: String?) throws {
        try ensureControlChannel()
        guard let state = connection else { throw AMQPError(.connectionLost, "the connection is being re-established") }
        CArena.with { arena in
            if let queue {
                amqp_queue_delete(state, controlChannel, arena.bytes(queue), 0, 0)
            } else if let exchange {
                amqp_exchange_delete(state, controlChannel, arena.bytes(exchange), 0)
            }
        }
        try checkReply(
            "deleting \(queue.map { "queue '\($0)'" } ?? "exchange '\(exchange ?? "")'")", channel: controlChannel)
    }

    /// Removes every ready message from a queue; returns how many there were.
    func purge(queue: String) throws -> Int {
        try ensureControlChannel()
        guard let state = connection else { throw AMQPError(.connectionLost, "the connection is being re-established") }
        let ok = CArena.with { arena in amqp_queue_purge(state, controlChannel, arena.bytes(queue)) }
        try checkReply("purging queue '\(queue)'", channel: controlChannel)
        return Int(ok?.pointee.message_count ?? 0)
    }

    // MARK: - Helpers

    static func describe(status: Int32) -> String {
        String(cString: amqp_error_string2(status))
    }

    static func cTimeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
