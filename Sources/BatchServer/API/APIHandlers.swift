import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Hummingbird
import Logging

/// The API's routes and what they share: the registry, the repository, the broker.
struct APIHandlers: Sendable {
    let registry: JobRegistry
    let repository: PostgresJobRepository
    let messaging: BatchMessaging
    let schedules: SchedulePlanning
    let commandTimeout: Duration
    let keepAlive: Duration
    let streams: StreamSlots
    let logger: Logger

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    func register(on router: Router<BasicRequestContext>) {
        let routes: [(HTTPRequest.Method, RouterPath, Handler)] = [
            (.get, "/api/jobs", jobs), (.post, "/api/jobs/{job}/start", start),
            (.get, "/api/executions", executions), (.get, "/api/executions/{id}", execution),
            (.post, "/api/executions/{id}/stop", { try await command(.stop, $0, $1) }),
            (.post, "/api/executions/{id}/restart", { try await command(.restart, $0, $1) }),
            (.post, "/api/executions/{id}/abandon", { try await command(.abandon, $0, $1) }),
            (.get, "/api/workers", workers),
            (.get, "/api/schedules", listSchedules), (.post, "/api/schedules", addSchedule),
            (.delete, "/api/schedules/{name}", removeSchedule),
            (.post, "/api/schedules/{name}/pause", pauseSchedule),
            (.post, "/api/schedules/{name}/resume", resumeSchedule),
            (.post, "/api/schedules/{name}/trigger", triggerSchedule),
            (.get, "/api/dead-letters", deadLetters), (.post, "/api/dead-letters/{id}/requeue", requeueDeadLetter),
            (.get, "/api/events", events),
        ]
        for (method, path, handler) in routes {
            router.on(path, method: method) { request, context in
                do {
                    return try await handler(request, context)
                } catch {
                    let failure = APIError.from(error)
                    if failure.status.code >= 500 {
                        logger.warning(
                            "API request failed",
                            metadata: [
                                "path": "\(request.uri.path)", "status": "\(failure.status.code)",
                                "error": "\(failure.message)",
                            ])
                    }
                    let answer = APIError.publicAnswer(to: error, failure)
                    return APIResponse.json(["error": .string(answer.message)], status: answer.status)
                }
            }
        }
    }
}

/// Checked values of the path and the query.
enum APIQuery {
    /// A path parameter, percent-decoded (`my%20job` is `my job`); as given when it is not valid percent-encoding.
    static func path(_ context: BasicRequestContext, _ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    /// A positive integer id from the path.
    static func executionId(_ context: BasicRequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let id = Int64(text),
            id >= 1
        else { throw APIError(.badRequest, "an execution id is a positive integer, got '\(text.prefix(100))'") }
        return id
    }

    /// An optional integer query parameter within `range`.
    static func integer(_ request: Request, _ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw APIError(
                .badRequest,
                "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text.prefix(100))'")
        }
        return value
    }

    /// An optional non-empty text query parameter.
    static func text(_ request: Request, _ name: String) throws -> String? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard !text.isEmpty, text.count <= 1000, !text.contains("\u{0}") else {
            throw APIError(.badRequest, "\(name) must be 1 to 1000 characters without NUL")
        }
        return text
    }
}
