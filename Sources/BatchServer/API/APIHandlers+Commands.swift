import Batch
import BatchPostgres
import BatchRabbitMQ
import Hummingbird

extension APIHandlers {
    /// `POST /api/jobs/{job}/start` with the parameters object as the body: 202 `{"executionId": N}` once a worker
    /// has stored the execution.
    func start(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = APIQuery.path(context, "job")
        let job = try registry.job(named: name)
        // What a worker would refuse for good is refused here, before anything is published: the same parser,
        // the same parameter rules, the job's own validators.
        // An empty body is `{}`, checked like any other.
        let body = try await APIResponse.jsonBody(of: request) ?? .object([:])
        let parameters: JobParameters
        do {
            guard case .object = body else {
                throw APIError(.badRequest, "the body must be a JSON object of parameters, got \(body.typeName)")
            }
            parameters = try JobParameters(jsonValue: body)
            try job.validate(parameters)
        } catch let error as BatchError {
            throw APIError(.badRequest, error.message)
        }
        return try await accepted(.start(job.name, parameters: parameters.values), broadcast: false)
    }

    /// `POST /api/executions/{id}/stop|restart|abandon`: 202 `{"executionId": N}` once a worker has taken it (for
    /// a restart, N is the new execution).
    func command(_ action: Command.Action, _ request: Request, _ context: BasicRequestContext) async throws -> Response
    {
        let id = try APIQuery.executionId(context)
        guard try await repository.jobExecution(id: id) != nil else {
            throw APIError(.notFound, "no job execution \(id)")
        }
        // A stop also goes to every worker over the control exchange, as `swiftbatch stop` sends it.
        return try await accepted(
            Command(action: action, target: .execution(id)), broadcast: action == .stop)
    }

    /// Sends a command with a reply queue and waits for a worker's answer: 202 with the execution id when
    /// accepted, 409 when the rules refuse it (404 when the execution is gone), 504 when no worker answers in
    /// time, 503 when the broker cannot take it.
    func accepted(_ command: Command, broadcast: Bool) async throws -> Response {
        let reply: Reply
        do {
            if broadcast { try await messaging.broadcast(command) }
            reply = try await messaging.request(command, timeout: commandTimeout)
        } catch let error as AMQPError where error.code == .timeout {
            throw APIError(
                .gatewayTimeout,
                "no worker answered within \(commandTimeout.components.seconds) s; is a worker running?")
        } catch let error as AMQPError {
            throw APIError(.serviceUnavailable, "the broker did not take the command: \(error)")
        }
        switch reply {
        case .accepted(let id?):
            return APIResponse.json(["executionId": .int(id)], status: .accepted)
        case .accepted(nil):
            throw APIError(.badGateway, "the worker accepted the command but named no execution")
        case .refused(let message):
            throw APIError(message.hasPrefix("no job execution") ? .notFound : .conflict, message)
        }
    }
}
