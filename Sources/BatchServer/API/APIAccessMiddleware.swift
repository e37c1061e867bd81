import Foundation
import Hummingbird

/// Who may use the API: every path but the dashboard's own files goes through three checks, in this order.
///
/// - **Cross-site requests.** A browser lets any page it shows send a form or `text/plain` POST to
///   `http://127.0.0.1:8080/api/...` (it only stops the page reading the answer). Browsers name the page's origin
///   in `Origin`; a request that changes something (any method but GET, HEAD and OPTIONS) whose `Origin` is not
///   this server's own host is refused with 403. Clients that are not browsers send no `Origin` and pass.
/// - **The token.** With `BATCH_API_TOKEN`, every request needs `Authorization: Bearer <token>` (401 otherwise). The
///   comparison takes the same time whatever the given token, and neither token is ever logged. Only the header
///   counts: a cookie would travel with requests other sites make the browser send, and the dashboard reads even
///   its event stream with `fetch()` and the header.
/// - **DNS rebinding.** A page on a name the attacker points at 127.0.0.1 is same-origin with that name, so the
///   browser lets it read answers too. Without a token, the API answers only requests addressed to an IP address or
///   `localhost` (`Host`); a server reached under a name needs a token, which such a page cannot send.
struct APIAccessMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The token every request must present, or nil for none.
    let token: [UInt8]?
    /// The names at the top of the dashboard's folder (`index.html`, `js`, ...): the only paths that pass unchecked,
    /// besides `/` itself.
    let publicNames: Set<String>

    init(token: String?, publicNames: Set<String>) {
        self.token = token.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        self.publicNames = publicNames
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard Self.isProtected(request.uri.path, publicNames: publicNames) else {
            return try await next(request, context)
        }
        let host = request.head.authority ?? ""
        if ![.get, .head, .options].contains(request.method), let origin = request.headers[.origin],
            Self.authority(ofOrigin: origin) != host.lowercased()
        {
            return APIResponse.json(
                ["error": "cross-site request refused: its Origin is not this server"], status: .forbidden)
        }
        if let token {
            guard let given = Self.presentedToken(request), Self.constantTimeEqual(given, token) else {
                var response = APIResponse.json(
                    ["error": "this server requires a token: send Authorization: Bearer <BATCH_API_TOKEN>"],
                    status: .unauthorized)
                response.headers[.wwwAuthenticate] = "Bearer"
                return response
            }
        } else if !Self.isAddressOrLocalhost(host) {
            let message =
                "without BATCH_API_TOKEN this server answers only requests to an IP address or localhost; "
                + "set a token to serve it under a host name"
            return APIResponse.json(["error": .string(message)], status: .forbidden)
        }
        return try await next(request, context)
    }

    /// Everything but the dashboard's files: the API, the OpenAPI document, and any path nobody expected.
    ///
    /// The path is read as the router and the file middleware read it, empty segments skipped and escapes decoded,
    /// and the dashboard's names are the ones allowed: `//api/jobs` and `/%61pi/jobs` are checked as `/api/jobs`
    /// is.
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

    /// `host[:port]` of an `Origin` (`http://127.0.0.1:8080` → `127.0.0.1:8080`), lower-cased; nil for `null`.
    static func authority(ofOrigin origin: String) -> String? {
        guard let components = URLComponents(string: origin), let host = components.host, !host.isEmpty else {
            return nil
        }
        // Foundation gives an IPv6 host with its brackets on some platforms and without on others.
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return (components.port.map { "\(bracketed):\($0)" } ?? bracketed).lowercased()
    }

    /// Whether a `Host` header names an IPv4 or IPv6 address or `localhost` (with or without a port).
    static func isAddressOrLocalhost(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            name = String(name[name.index(after: name.startIndex)..<close])
            var address = in6_addr()
            return inet_pton(AF_INET6, name, &address) == 1
        }
        if let colon = name.lastIndex(of: ":") { name = String(name[..<colon]) }
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        var address = in_addr()
        return inet_pton(AF_INET, name, &address) == 1
    }
}
