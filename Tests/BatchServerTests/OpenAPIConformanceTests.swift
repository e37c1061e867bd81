import Batch
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

/// `openapi.json` against the running server: every operation it documents is called (with real data, a missing
/// id and no token), each answer's status must be one the document lists for it, and each JSON body must match the
/// documented schema (types, required fields, enums, nested objects and arrays). An operation added to the server
/// but not the document, or the other way round, fails the plan check.
@Suite(.tags(.endToEnd), .timeLimit(.minutes(3)))
struct OpenAPIConformanceTests {
    /// The document as stored in the repository.
    static func document() throws -> JSONValue {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/BatchServer/openapi.json").path
        return try JSONValue(parsing: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// One call: the operation, its method and concrete path, a body, and whether it must succeed (2xx).
    struct Call {
        let operation: String
        let method: String
        let path: String
        var body: String = ""
        var succeeds = true
    }

    @Test func everyDocumentedOperationAnswersAsDocumented() async throws {
        let document = try Self.document()
        let validator = SchemaValidator(document: document)
        let operations = try #require(document.objectValue?["paths"]?.objectValue)
        try await ServerWorld.with(token: "conformance") { world in
            // Data for the reads: a completed execution, a schedule, a dead letter.
            let id = try await world.start("hello", #"{"who":"conformance"}"#)
            try await world.waitFor(id, status: "COMPLETED")
            try await world.messaging.connection.publish(
                AMQPMessage(text: "not json", properties: AMQPProperties(contentType: "application/json")),
                exchange: "", routingKey: world.messaging.topology.commandsQueue)
            try await eventually("a dead letter", timeout: .seconds(30), every: .milliseconds(100)) {
                try await world.messaging.connection.queueStatus(world.messaging.topology.deadLetterQueue).messages > 0
            }
            let calls: [Call] = [
                Call(operation: "listJobs", method: "GET", path: "/api/jobs"),
                Call(operation: "startJob", method: "POST", path: "/api/jobs/hello/start", body: #"{"who":"doc"}"#),
                Call(operation: "startJob", method: "POST", path: "/api/jobs/hello/start", body: "[]", succeeds: false),
                Call(operation: "startJob", method: "POST", path: "/api/jobs/nope/start", body: "{}", succeeds: false),
                Call(operation: "listExecutions", method: "GET", path: "/api/executions?limit=1"),
                Call(operation: "listExecutions", method: "GET", path: "/api/executions?job=hello&status=COMPLETED"),
                Call(operation: "listExecutions", method: "GET", path: "/api/executions?limit=x", succeeds: false),
                Call(operation: "getExecution", method: "GET", path: "/api/executions/\(id)"),
                Call(operation: "getExecution", method: "GET", path: "/api/executions/99999", succeeds: false),
                Call(operation: "stopExecution", method: "POST", path: "/api/executions/\(id)/stop"),
                Call(
                    operation: "restartExecution", method: "POST", path: "/api/executions/\(id)/restart",
                    succeeds: false),
                Call(
                    operation: "abandonExecution", method: "POST", path: "/api/executions/99999/abandon",
                    succeeds: false),
                Call(operation: "listWorkers", method: "GET", path: "/api/workers"),
                Call(
                    operation: "addSchedule", method: "POST", path: "/api/schedules",
                    body: #"{"name":"doc","job":"hello","cron":"@daily","params":{"who":"{{date}}"}}"#),
                Call(
                    operation: "addSchedule", method: "POST", path: "/api/schedules", body: #"{"name":"doc"}"#,
                    succeeds: false),
                Call(operation: "listSchedules", method: "GET", path: "/api/schedules"),
                Call(operation: "pauseSchedule", method: "POST", path: "/api/schedules/doc/pause"),
                Call(operation: "resumeSchedule", method: "POST", path: "/api/schedules/doc/resume"),
                Call(
                    operation: "resumeSchedule", method: "POST", path: "/api/schedules/doc/resume", succeeds: false),
                Call(operation: "triggerSchedule", method: "POST", path: "/api/schedules/doc/trigger"),
                Call(operation: "removeSchedule", method: "DELETE", path: "/api/schedules/doc"),
                Call(operation: "removeSchedule", method: "DELETE", path: "/api/schedules/doc", succeeds: false),
                Call(operation: "listDeadLetters", method: "GET", path: "/api/dead-letters"),
                Call(
                    operation: "requeueDeadLetter", method: "POST", path: "/api/dead-letters/none/requeue",
                    succeeds: false),
                Call(operation: "events", method: "GET", path: "/api/events?job=hello"),
                Call(operation: "openapi", method: "GET", path: "/openapi.json"),
            ]
            // The plan covers exactly the documented operations.
            var documented: [String: (method: String, responses: [String: JSONValue])] = [:]
            for (_, item) in operations {
                for (method, operation) in item.objectValue ?? [:] {
                    guard let id = operation.objectValue?["operationId"]?.stringValue else { continue }
                    documented[id] = (method.uppercased(), operation.objectValue?["responses"]?.objectValue ?? [:])
                }
            }
            #expect(Set(calls.map(\.operation)) == Set(documented.keys))
            for call in calls {
                let (method, responses) = try #require(documented[call.operation])
                #expect(call.method == method, "\(call.operation)")
                if call.operation == "events" {
                    let stream = try EventStreamClient(port: world.port, path: call.path, headers: world.authorization)
                    defer { stream.close() }
                    try await eventually("the stream opens", timeout: .seconds(10), every: .milliseconds(20)) {
                        stream.received.contains(": connected")
                    }
                    #expect(stream.received.hasPrefix("HTTP/1.1 200"))
                } else {
                    let answer = try await world.send(call.method, call.path, call.body)
                    let status = String(answer.status)
                    #expect(
                        responses[status] != nil, "\(call.operation) \(call.path) answered \(status), not documented")
                    #expect(
                        (200..<300).contains(answer.status) == call.succeeds,
                        "\(call.path): \(answer.status) \(answer.text)")
                    if let response = responses[status] {
                        let problems = validator.check(answer, against: response)
                        #expect(problems.isEmpty, "\(call.operation) \(status): \(problems)")
                    }
                }
                // Without the token, every operation is 401, as documented.
                let refused = try await world.send(call.method, call.path, call.body, headers: [:])
                #expect(refused.status == 401)
                #expect(responses["401"] != nil, "\(call.operation) does not document 401")
            }
        }
    }
}

extension ServerWorld {
    /// Any method, with the world's token unless `headers` says otherwise.
    func send(
        _ method: String, _ path: String, _ body: String, headers: [String: String]? = nil
    ) async throws
        -> HTTPAnswer
    {
        var all = headers ?? authorization
        if !body.isEmpty { all["Content-Type"] = "application/json" }
        return try await RawHTTP.request(port: port, method: method, path: path, headers: all, body: Array(body.utf8))
    }
}

/// The part of JSON Schema (2020-12, as OpenAPI 3.1 uses it) the document uses: `$ref`, `allOf`, `type` (one or a
/// list), `required`, `properties`, `items`, `enum`.
struct SchemaValidator {
    let document: JSONValue

    /// What is wrong with an answer for a documented response (empty when nothing is).
    func check(_ answer: HTTPAnswer, against response: JSONValue) -> [String] {
        let response = resolve(response)
        guard let content = response.objectValue?["content"]?.objectValue else {
            return answer.body.isEmpty ? [] : ["a body where none is documented"]
        }
        guard let schema = content["application/json"]?.objectValue?["schema"] else { return [] }
        guard answer.headers["content-type"]?.hasPrefix("application/json") == true else {
            return ["content type \(answer.headers["content-type"] ?? "none"), not JSON"]
        }
        guard let value = try? answer.json else { return ["the body is not JSON"] }
        return validate(value, schema, at: "$")
    }

    func resolve(_ value: JSONValue) -> JSONValue {
        guard let reference = value.objectValue?["$ref"]?.stringValue, reference.hasPrefix("#/") else { return value }
        var node = document
        for part in reference.dropFirst(2).split(separator: "/") { node = node.objectValue?[String(part)] ?? .null }
        return resolve(node)
    }

    func validate(_ value: JSONValue, _ schema: JSONValue, at path: String) -> [String] {
        guard let schema = resolve(schema).objectValue else { return [] }
        var problems: [String] = []
        for part in schema["allOf"]?.arrayValue ?? [] { problems += validate(value, part, at: path) }
        if let type = schema["type"] {
            let allowed = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue ?? ""]
            guard allowed.contains(where: { Self.matches(value, $0) }) else {
                return problems + ["\(path) is \(value.typeName), not \(allowed.joined(separator: " or "))"]
            }
        }
        if let options = schema["enum"]?.arrayValue, !options.contains(value) {
            problems.append("\(path) is \(value), not one of \(options)")
        }
        if case .object(let members) = value {
            for key in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[key] == nil {
                problems.append("\(path).\(key) is missing")
            }
            for (key, property) in schema["properties"]?.objectValue ?? [:] {
                if let member = members[key] { problems += validate(member, property, at: "\(path).\(key)") }
            }
        }
        if case .array(let elements) = value, let items = schema["items"] {
            for (index, element) in elements.enumerated() {
                problems += validate(element, items, at: "\(path)[\(index)]")
            }
        }
        return problems
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("integer", .int), ("number", .int), ("number", .double),
            ("string", .string), ("array", .array), ("object", .object):
            true
        default: false
        }
    }
}
