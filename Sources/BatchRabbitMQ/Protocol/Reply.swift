import Batch

/// A worker's answer to a command sent with `reply_to` and `correlation_id`: `{"ok": true, "executionId": 42}` or
/// `{"ok": false, "error": "..."}`.
///
/// Decoding requires `ok`, an `error` string when `ok` is false, and an integer (or null) `executionId` when
/// present; other fields are ignored, so that workers can add some without breaking older clients.
public enum Reply: Sendable, Hashable {
    /// The command was accepted; `executionId` names the execution it created or acted on, if any.
    case accepted(executionId: Int64?)
    /// The command was refused, and why.
    case refused(String)

    /// Whether the command was accepted.
    public var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }

    /// Decodes a message body.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    public init(decoding body: some Collection<UInt8>, limits: MessageLimits = MessageLimits()) throws {
        try self.init(StrictObject(body: body, kind: "reply", limits: limits))
    }

    /// Decodes a parsed JSON value.
    ///
    /// - Throws: ``AMQPError`` with code ``AMQPError/Code/invalidMessage`` saying exactly what is wrong.
    public init(json: JSONValue) throws {
        try self.init(StrictObject(value: json, kind: "reply"))
    }

    private init(_ object: StrictObject) throws {
        if try object.bool("ok") {
            self = .accepted(executionId: try object.optionalID("executionId"))
        } else {
            self = .refused(try object.string("error"))
        }
    }

    /// The reply as JSON.
    public var json: JSONValue {
        switch self {
        case .accepted(let executionId?): ["ok": true, "executionId": .int(executionId)]
        case .accepted(nil): ["ok": true]
        case .refused(let message): ["ok": false, "error": .string(message)]
        }
    }
}

extension Reply: JSONMessage {}
