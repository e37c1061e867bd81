import Batch
import Foundation
import Hummingbird
import NIOCore

/// Builds the API's responses and reads its request bodies.
enum APIResponse {
    /// The largest request body accepted (the same limit as a command over RabbitMQ); larger ones get 413.
    static let maximumBodySize = 64 * 1024

    /// A JSON response with `value` as its body (compact, keys sorted).
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(
            status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONBytes.encode(value)))
        )
    }

    /// The request body, at most ``maximumBodySize`` bytes, refused with 413 beyond (by its `Content-Length` before
    /// anything is read, or as it arrives).
    static func body(of request: Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maximumBodySize {
            throw tooLarge
        }
        do {
            let buffer = try await request.body.collect(upTo: maximumBodySize)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    private static var tooLarge: APIError {
        APIError(.contentTooLarge, "the request body is over \(maximumBodySize / 1024) KiB")
    }

    /// The request body as one JSON value, through the same strict parser as a command over RabbitMQ (UTF-8, no
    /// duplicate keys, integers within 64 bits, nesting at most 100 levels); `nil` for an empty body.
    static func jsonBody(of request: Request) async throws -> JSONValue? {
        let bytes = try await body(of: request)
        guard bytes.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) else { return nil }
        do {
            return try JSONValue(parsing: bytes)
        } catch let error as BatchError {
            throw APIError(.badRequest, "the body is not valid JSON: \(error.message)")
        }
    }

    private static let iso8601 = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// An ISO 8601 UTC time with milliseconds.
    static func time(_ date: Date) -> JSONValue {
        .string(iso8601.format(date))
    }

    /// ``time(_:)``, or `null`.
    static func time(_ date: Date?) -> JSONValue {
        date.map { time($0) } ?? .null
    }
}
