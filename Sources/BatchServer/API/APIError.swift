import Batch
import Hummingbird

/// A refusal of the API: a status and a one-sentence message, answered as `{"error": "message"}`.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// What is wrong, in one sentence.
    public var message: String

    /// Creates an error with a status and a message.
    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// `<status>: <message>`.
    public var description: String { "\(status.code): \(message)" }

    /// The JSON response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        APIResponse.json(["error": .string(message)], status: status)
    }

    /// What a client is told of `failure` (``from(_:)`` of `error`): the message itself, unless it is a server-side
    /// failure (5xx) no handler worded for clients — a database error names hosts, addresses, ports and users, so
    /// it goes to the server's log and the client gets a sentence saying where to look.
    static func publicAnswer(to error: any Error, _ failure: APIError) -> APIError {
        guard failure.status.code >= 500, !(error is APIError) else { return failure }
        return failure.status == .serviceUnavailable
            ? APIError(failure.status, "the job repository is unavailable; try again later (the server's log says why)")
            : APIError(failure.status, "the server could not answer (its log says why)")
    }

    /// The API's answer to an error a handler met: a ``BatchError`` by its code (404 for what does not exist, 400
    /// for refused parameters or JSON, 409 for a state the rules refuse), anything else a 500 naming the failure.
    static func from(_ error: any Error) -> APIError {
        if let error = error as? APIError { return error }
        guard let error = error as? BatchError else { return APIError(.internalServerError, "\(error)") }
        switch error.code {
        case .jobNotFound, .executionNotFound: return APIError(.notFound, error.message)
        case .invalidParameters, .invalidJSON, .invalidSchedule: return APIError(.badRequest, error.message)
        case .alreadyRunning, .alreadyComplete, .abandoned, .endedAbnormally, .notRestartable, .notRunning,
            .cannotAbandon, .optimisticLock, .instanceExists, .scheduleExists:
            return APIError(.conflict, error.message)
        case .repositoryFailure: return APIError(.serviceUnavailable, error.message)
        default: return APIError(.internalServerError, error.message)
        }
    }
}
