import Batch
import BatchRabbitMQ
import Hummingbird

extension APIHandlers {
    /// `GET /api/dead-letters?limit=`: oldest first; the queue is left as it is.
    func deadLetters(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let limit = try APIQuery.integer(request, "limit", in: 1...1000) ?? 100
        let letters: [DeadLetter]
        do {
            letters = try await messaging.deadLetters(limit: Int(limit))
        } catch let error as AMQPError {
            throw APIError(.serviceUnavailable, "the broker cannot list the dead letters: \(error)")
        }
        return APIResponse.json(["deadLetters": .array(letters.map(RecordJSON.deadLetter))])
    }

    /// `POST /api/dead-letters/{id}/requeue`: back to the commands queue with a fresh attempt count.
    func requeueDeadLetter(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = APIQuery.path(context, "id")
        guard !id.isEmpty, id.count <= 64 else {
            throw APIError(.badRequest, "a dead letter's id is 1 to 64 characters")
        }
        let letter: DeadLetter?
        do {
            letter = try await messaging.requeueDeadLetter(id: id)
        } catch let error as AMQPError {
            throw APIError(.serviceUnavailable, "the broker did not take the dead letter back: \(error)")
        }
        guard let letter else { throw APIError(.notFound, "no dead letter with id \(id)") }
        return APIResponse.json(RecordJSON.deadLetter(letter))
    }
}
