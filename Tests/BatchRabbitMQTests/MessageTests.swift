import Batch
import BatchRabbitMQ
import Foundation
import Testing

@Suite struct CommandDecodingTests {
    private func decode(_ text: String, limits: MessageLimits = MessageLimits()) throws -> Command {
        try Command(decoding: Array(text.utf8), limits: limits)
    }

    private func failure(_ text: String, limits: MessageLimits = MessageLimits()) -> String {
        do {
            _ = try decode(text, limits: limits)
            return "decoded"
        } catch let error as AMQPError {
            #expect(error.code == .invalidMessage)
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func decodesEveryForm() throws {
        #expect(
            try decode(#"{"command":"start","job":"daily","params":{"date":"2026-11-25"}}"#)
                == .start("daily", parameters: ["date": "2026-11-25"]))
        #expect(
            try decode(#"{"command":"start","job":"daily","params":"{\"n\":1}"}"#)
                == .start("daily", parameters: ["n": 1]))
        #expect(try decode(#"{"command":"start","job":"daily"}"#) == .start("daily"))
        #expect(try decode(#"{"command":"stop","job":"daily"}"#) == .stop(job: "daily"))
        #expect(try decode(#"{"command":"stop","executionId":42}"#) == .stop(executionId: 42))
        #expect(try decode(#"{"command":"restart","executionId":42}"#) == .restart(executionId: 42))
        #expect(try decode(#"{"command":"restart","job":"daily"}"#) == .restart(job: "daily"))
        #expect(try decode(#"{"command":"abandon","executionId":7}"#) == .abandon(executionId: 7))
    }

    @Test func encodingRoundTrips() throws {
        let commands: [Command] = [
            .start("a", parameters: ["x": [1, 2.5, "s", nil, true], "y": ["k": "v"]]), .stop(job: "a"),
            .stop(executionId: 1), .restart(job: "a"), .restart(executionId: 2), .abandon(executionId: 3),
            .abandon(job: "b"),
        ]
        for command in commands {
            #expect(try Command(decoding: command.body) == command)
            let viaCodable = try JSONDecoder().decode(Command.self, from: JSONEncoder().encode(command))
            #expect(viaCodable == command)
        }
    }

    @Test func saysExactlyWhatIsWrong() {
        #expect(failure(#"{"command":"launch","job":"a"}"#).contains("unknown command 'launch'"))
        #expect(failure(#"{"job":"a"}"#).contains("missing field 'command'"))
        #expect(failure(#"{"command":"start"}"#).contains("missing field 'job'"))
        #expect(failure(#"{"command":"stop"}"#).contains("missing field 'job' or 'executionId'"))
        #expect(
            failure(#"{"command":"stop","executionId":"42"}"#).contains(
                "field 'executionId' must be an integer, found string"))
        #expect(failure(#"{"command":"stop","executionId":0}"#).contains("positive"))
        #expect(failure(#"{"command":7,"job":"a"}"#).contains("field 'command' must be a string, found integer"))
        #expect(failure(#"{"command":"start","job":""}"#).contains("must not be empty"))
        #expect(failure(#"{"command":"start","job":"a","parms":{}}"#).contains("unknown field 'parms'"))
        #expect(failure(#"{"command":"start","job":"a","params":[1]}"#).contains("found array"))
        #expect(failure(#"{"command":"start","job":"a","params":"[1]"}"#).contains("does not hold a JSON object"))
        #expect(failure(#"{"command":"stop","job":"a","params":{}}"#).contains("only allowed with 'start'"))
        #expect(failure(#"{"command":"stop","job":"a","executionId":1}"#).contains("not both"))
        #expect(failure(#"{"command":"start","executionId":1}"#).contains("not an 'executionId'"))
        #expect(failure(#"{"command":"start","job":"a""#).contains("not JSON"))
        #expect(failure(#"[1,2]"#).contains("expected a JSON object, found array"))
    }

    @Test func refusesWhatIsNotStrictJSONOrCannotBeStored() {
        let cases: [(String, String)] = [
            (#"{"command":"start","job":"hello","job":"count"}"#, "duplicate key 'job' in object at the top level"),
            (#"{"command":"start","job":"a","params":{"n":1,"n":2}}"#, "duplicate key 'n' in object at params"),
            (
                #"{"command":"start","job":"a","params":{"o":[{"k":1,"k":1}]}}"#,
                "duplicate key 'k' in object at params.o[0]"
            ),
            (
                #"{"command":"start","job":"a","params":"{\"n\":1,\"n\":2}"}"#,
                "field 'params' is a string that is not JSON: duplicate key 'n' in object at the top level"
            ),
            (
                #"{"command":"start","job":"a\u0000"}"#,
                "invalid command: field 'job' contains a NUL character (U+0000), which cannot be stored"
            ),
            (
                #"{"command":"start","job":"a","params":{"who":"x\u0000"}}"#,
                "invalid command: parameter 'who' contains a NUL character (U+0000), which cannot be stored"
            ),
            (
                #"{"command":"start","job":"a","params":{"w\u0000":1}}"#,
                #"invalid command: the name of parameter '["w\u0000"]' contains a NUL character"#
            ),
            (
                #"{"command":"start","job":"a","params":{"l":[[0,"\u0000"]]}}"#,
                "invalid command: parameter 'l[0][1]' contains a NUL character"
            ),
            (
                #"{"command":"start","job":"a","params":"{\"who\":\"\\u0000\"}"}"#,
                "invalid command: parameter 'who' contains a NUL character"
            ),
            (
                #"{"command":"start","job":"a","params":{"n":18446744073709551616}}"#,
                "integer 18446744073709551616 at params.n is outside the 64-bit range"
            ),
            (
                #"{"command":"start","job":"a","params":{"n":18446744073709551617}}"#,
                "integer 18446744073709551617 at params.n is outside the 64-bit range"
            ),
            (#"{"command":"start","job":"a","params":{"x":1e400}}"#, "number 1e400 at params.x is out of range"),
            (#"{"command":"start","job":"\ud800"}"#, #"lone surrogate \ud800 in string at job"#),
            (#"{"command":"start","job":"a"} x"#, "unexpected 'x' after the JSON value"),
            ("", "the body is not JSON: the text is empty"),
        ]
        for (text, expected) in cases {
            let message = failure(text)
            #expect(message.contains(expected), "\(text): \(message)")
        }
        let invalidUTF8 = Array(#"{"command":"start","job":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let utf8Error = #expect(throws: AMQPError.self) { try Command(decoding: invalidUTF8) }
        #expect(utf8Error?.message.contains("invalid UTF-8 (bytes 0xC3 0x28 0x22 0x7D) in string at job") == true)
    }

    @Test func refusesDeepNestingWithoutCrashing() {
        let limits = MessageLimits(maximumBodySize: 1 << 20)
        for depth in [1_000, 100_000] {
            let params = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let text = #"{"command":"start","job":"a","params":{"deep":"# + params + "}}"
            let message = failure(text, limits: limits)
            #expect(message.contains("nesting deeper than 100 levels at params.deep[0][0][0]…"), "\(message)")
        }
    }

    @Test func validateRefusesCommandsAWorkerWouldRefuse() {
        #expect(throws: Never.self) { try Command.start("a", parameters: ["who": "world"]).validate() }
        for command in [
            Command.start("a\u{0}"), .start("a", parameters: ["who": "x\u{0}"]), .start(""), .stop(executionId: 0),
        ] {
            let error = #expect(throws: AMQPError.self) { try command.validate() }
            #expect(error?.code == .invalidMessage)
            #expect(throws: AMQPError.self) { try Command(decoding: command.body) }
        }
    }

    @Test func enforcesTheSizeLimit() {
        let big = #"{"command":"start","job":"a","params":{"pad":""# + String(repeating: "x", count: 70_000) + #""}}"#
        #expect(failure(big).contains("over the limit of 65536 bytes"))
        #expect(
            failure(#"{"command":"stop","job":"abc"}"#, limits: MessageLimits(maximumBodySize: 10)).contains(
                "limit of 10"))
    }

    @Test func rejectsRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<256).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(throws: AMQPError.self) { try Command(decoding: bytes) }
    }
}

@Suite struct ReplyAndEventTests {
    @Test func repliesRoundTrip() throws {
        for reply in [Reply.accepted(executionId: 42), .accepted(executionId: nil), .refused("no such job 'x'")] {
            #expect(try Reply(decoding: reply.body) == reply)
        }
        #expect(
            String(decoding: Reply.accepted(executionId: 42).body, as: UTF8.self) == #"{"executionId":42,"ok":true}"#)
        #expect(try Reply(decoding: Array(#"{"ok":false,"error":"e","extra":1}"#.utf8)) == .refused("e"))
        #expect(throws: AMQPError.self) { try Reply(decoding: Array(#"{"ok":"yes"}"#.utf8)) }
        #expect(throws: AMQPError.self) { try Reply(decoding: Array(#"{"ok":false}"#.utf8)) }
        #expect(throws: AMQPError.self) { try Reply(decoding: Array(#"{"ok":true,"executionId":0}"#.utf8)) }
        #expect(throws: AMQPError.self) { try Reply(decoding: Array(#"{"ok":true,"executionId":-3}"#.utf8)) }
    }

    @Test func eventsRoundTrip() throws {
        let event = Event(
            executionId: 42, jobName: "daily", instanceId: 7, status: .failed, exitMessage: "boom",
            time: Date(timeIntervalSince1970: 1_764_064_800.123))
        #expect(try Event(decoding: event.body) == event)
        #expect(event.routingKey == "job.daily.FAILED")
        let text = String(decoding: event.body, as: UTF8.self)
        #expect(text.contains(#""time":"2025-11-25T10:00:00.123Z""#))
        let viaCodable = try JSONDecoder().decode(Event.self, from: JSONEncoder().encode(event))
        #expect(viaCodable == event)
    }

    @Test func eventDecodingIsStrict() throws {
        func message(_ text: String) -> String {
            do {
                _ = try Event(decoding: Array(text.utf8))
                return "decoded"
            } catch { return (error as? AMQPError)?.message ?? "\(error)" }
        }
        let base = #""executionId":1,"jobName":"j","instanceId":2,"exitMessage":null,"time":"2026-01-01T00:00:00Z""#
        #expect(try Event(decoding: Array(("{" + base + #","status":"COMPLETED"}"#).utf8)).status == .completed)
        #expect(message("{" + base + #","status":"DONE"}"#).contains("unknown status 'DONE'"))
        #expect(
            message(#"{"executionId":1,"jobName":"j","instanceId":2,"status":"FAILED","time":"2026-01-01T00:00:00Z"}"#)
                .contains("exitMessage"))
        #expect(
            message(
                #"{"executionId":1,"jobName":"j","instanceId":2,"status":"FAILED","exitMessage":null,"time":"yesterday"}"#
            ).contains("ISO 8601"))
        let completed = #""jobName":"j","status":"COMPLETED","exitMessage":null,"time":"2026-01-01T00:00:00Z""#
        #expect(
            message(#"{"executionId":0,"instanceId":2,"# + completed + "}").contains("'executionId' must be a positive")
        )
        #expect(
            message(#"{"executionId":1,"instanceId":-1,"# + completed + "}").contains("'instanceId' must be a positive")
        )
        #expect(message("{" + base + #","status":"FAILED","stepExecutionId":5}"#).contains("come together"))
        #expect(message("{" + base + #","status":"FAILED","stepName":"s"}"#).contains("come together"))
        #expect(message("{" + base + #","status":"FAILED","stepName":"s","stepExecutionId":5}"#) == "decoded")
    }
}

@Suite struct MessageCodableTests {
    /// Each message's `Codable` form is its wire JSON, decoded as strictly as a body.
    @Test func codableWritesTheWireFormAndDecodesStrictly() throws {
        let event = Event(
            executionId: 4, jobName: "j", instanceId: 2, status: .completed,
            time: Date(timeIntervalSince1970: 1_795_000_000.5))
        let messages: [any JSONMessage] = [Command.stop(executionId: 42), event, Reply.refused("no")]
        for message in messages {
            let encoded = try JSONEncoder().encode(message)
            #expect(try JSONValue(parsing: Array(encoded)) == message.json)
            #expect(try JSONValue(parsing: message.body) == message.json)
        }
        let wire = try JSONValue(parsing: Array(try JSONEncoder().encode(event)))
        #expect(wire.objectValue?["time"] == "2026-11-18T11:06:40.500Z")
        for (type, text) in [
            (Command.self as any JSONMessage.Type, #"{"command":"stop","executionId":1,"parms":{}}"#),
            (
                Event.self,
                #"{"executionId":1,"jobName":"j","instanceId":2,"status":"DONE","exitMessage":null,"time":"x"}"#
            ),
            (Reply.self, #"{"ok":false}"#),
        ] {
            let error = #expect(throws: DecodingError.self) { try JSONDecoder().decode(type, from: Data(text.utf8)) }
            guard case .dataCorrupted(let context) = error else { continue }
            #expect(context.underlyingError is AMQPError, "\(type)")
        }
    }
}
