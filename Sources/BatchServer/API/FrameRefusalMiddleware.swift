import Hummingbird

/// Forbids other sites to frame the dashboard (clickjacking: a page overlaying decoys on a framed Abandon button):
/// `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors 'none'` on every response, errors included
/// (a `<meta>` policy cannot carry `frame-ancestors`).
struct FrameRefusalMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.contentSecurityPolicy] = "frame-ancestors 'none'"
        return response
    }
}
