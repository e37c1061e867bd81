import Foundation
import Hummingbird

/// Keeps other web sites out of the API, token or not.
///
/// - **Cross-site requests.** A browser lets any page it shows send a form or `text/plain` POST to
///   `http://127.0.0.1:8080/api/...` (it only stops the page reading the answer). Browsers name the page's origin
///   in `Origin`; a request that changes something (any method but GET, HEAD and OPTIONS) whose `Origin` is not
///   this server's own host is refused with 403. Clients that are not browsers send no `Origin` and pass.
/// - **DNS rebinding.** A page on a name the attacker points at 127.0.0.1 is same-origin with that name, so the
///   browser lets it read answers too. Without a token, the API answers only requests addressed to an IP address or
///   `localhost` (`Host`); a server reached under a name needs `BATCH_API_TOKEN`, which such a page cannot send.
///
/// The dashboard's own files pass (see ``TokenMiddleware/isProtected(_:publicNames:)``).
struct RequestOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let hasToken: Bool
    let publicNames: Set<String>

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard TokenMiddleware<Context>.isProtected(request.uri.path, publicNames: publicNames) else {
            return try await next(request, context)
        }
        let host = request.head.authority ?? ""
        if ![.get, .head, .options].contains(request.method), let origin = request.headers[.origin],
            Self.authority(ofOrigin: origin) != host.lowercased()
        {
            return APIResponse.json(
                ["error": "cross-site request refused: its Origin is not this server"], status: .forbidden)
        }
        if !hasToken, !Self.isAddressOrLocalhost(host) {
            let message =
                "without BATCH_API_TOKEN this server answers only requests to an IP address or localhost; "
                + "set a token to serve it under a host name"
            return APIResponse.json(["error": .string(message)], status: .forbidden)
        }
        return try await next(request, context)
    }

    /// `host[:port]` of an `Origin` (`http://127.0.0.1:8080` → `127.0.0.1:8080`), lower-cased; nil for `null`.
    static func authority(ofOrigin origin: String) -> String? {
        guard let components = URLComponents(string: origin), let host = components.host, !host.isEmpty else {
            return nil
        }
        let bracketed = host.contains(":") ? "[\(host)]" : host
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
