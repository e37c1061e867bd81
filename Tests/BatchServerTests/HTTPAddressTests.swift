import BatchServer
import Testing

@Suite struct HTTPAddressTests {
    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080), ("0.0.0.0:9100", "0.0.0.0", 9100), ("9090", "127.0.0.1", 9090),
        ("[::1]:8080", "::1", 8080), ("localhost:1", "localhost", 1),
    ])
    func parses(text: String, host: String, port: Int) {
        #expect(HTTPAddress(parsing: text) == HTTPAddress(host: host, port: port))
    }

    @Test(arguments: ["", ":8080", "host:", "host:0", "host:65536", "host:80x", "[::1]8080", "[::1", "host:+80", "١٢٣"])
    func refuses(text: String) {
        #expect(HTTPAddress(parsing: text) == nil)
    }

    @Test func printsIPv6InBrackets() {
        #expect(HTTPAddress(host: "::1", port: 8080).description == "[::1]:8080")
        #expect(HTTPAddress(host: "127.0.0.1", port: 8080).description == "127.0.0.1:8080")
    }
}
