import Batch
import Hummingbird
import Testing

@testable import BatchServer

/// The Origin check compares an `Origin` header's authority with the `Host` header, IPv6 included.
@Suite struct OriginAuthorityTests {
    @Test(arguments: [
        ("http://127.0.0.1:8080", "127.0.0.1:8080"), ("http://[::1]:8080", "[::1]:8080"),
        ("http://[::1]", "[::1]"), ("http://LOCALHOST:9", "localhost:9"), ("https://example.com", "example.com"),
    ])
    func authority(origin: String, host: String) {
        #expect(APIAccessMiddleware<BasicRequestContext>.authority(ofOrigin: origin) == host)
    }

    @Test func noAuthorityForNull() {
        #expect(APIAccessMiddleware<BasicRequestContext>.authority(ofOrigin: "null") == nil)
    }
}
