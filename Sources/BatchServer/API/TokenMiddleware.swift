import Foundation
import Hummingbird

/// Requires `Authorization: Bearer <token>` on every request to the API and the OpenAPI document; the dashboard's
/// static files hold no data and pass. The comparison takes the same time whatever the given token, and neither
/// token is ever logged. Only the header counts: a cookie would travel with requests other sites make the browser
/// send, and the dashboard reads even its event stream with `fetch()` and the header.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]
    /// The names at the top of the dashboard's folder (`index.html`, `js`, ...): the only paths that pass without the
    /// token, besides `/` itself.
    let publicNames: Set<String>

    init(token: String, publicNames: Set<String>) {
        self.token = Array(token.utf8)
        self.publicNames = publicNames
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard Self.isProtected(request.uri.path, publicNames: publicNames) else {
            return try await next(request, context)
        }
        guard let given = Self.presentedToken(request), Self.constantTimeEqual(given, token) else {
            var response = APIResponse.json(
                ["error": "this server requires a token: send Authorization: Bearer <BATCH_API_TOKEN>"],
                status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }

    /// Everything but the dashboard's files: the API, the OpenAPI document, and any path nobody expected.
    ///
    /// The path is read as the router and the file middleware read it, empty segments skipped and escapes decoded,
    /// and the dashboard's names are the ones allowed: `//api/jobs` and `/%61pi/jobs` need the token as `/api/jobs`
    /// does.
    static func isProtected(_ path: String, publicNames: Set<String>) -> Bool {
        guard let first = path.split(separator: "/", omittingEmptySubsequences: true).first else {
            return false  // "/": the dashboard's page
        }
        let name = String(first).removingPercentEncoding ?? String(first)
        return !publicNames.contains(name)
    }

    /// The token of the `Authorization: Bearer` header.
    static func presentedToken(_ request: Request) -> [UInt8]? {
        guard let header = request.headers[.authorization] else { return nil }
        let scheme = "bearer "
        guard header.count > scheme.count, header.prefix(scheme.count).lowercased() == scheme else { return nil }
        return Array(header.dropFirst(scheme.count).utf8)
    }

    /// Equal bytes, in a time that depends only on the lengths, not on where they differ.
    static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: given.count ^ expected.count)
        if given.count != expected.count { difference |= 1 }
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0 && !expected.isEmpty
    }
}
