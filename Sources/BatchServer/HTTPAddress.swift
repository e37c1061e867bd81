/// Where an HTTP listener binds: a host and a port, parsed from `host:port` (`127.0.0.1:8080`, `[::1]:8080`) or a
/// bare port (`8080`, meaning loopback).
public struct HTTPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address to bind.
    public var host: String
    /// The TCP port.
    public var port: Int

    /// Creates an address from its parts.
    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port` or a bare port; `nil` for anything else (an empty host, a port outside
    /// 1...65535, text after the port).
    public init?(parsing text: String) {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText),
            (1...65535).contains(port)
        else { return nil }
        self.init(host: host, port: port)
    }

    /// `host:port`, with brackets around an IPv6 address.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
