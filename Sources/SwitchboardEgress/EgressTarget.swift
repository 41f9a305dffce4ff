import Foundation

/// Where a request is going: a host as written in its URL (a name or a numeric address,
/// lowercased, IPv6 without brackets) and a port.
///
/// The gate reads one from a `CONNECT` request's authority (`host:port`, `[v6]:port`);
/// operators' trusted origins and the save-time check read one from a URL.
public struct EgressTarget: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int

    /// `host` unbracketed; `port` in 1...65535.
    public init?(host: String, port: Int) {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.utf8.count <= 253 + 2, (1...65535).contains(port),
            host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@") })
        else { return nil }
        self.host = host
        self.port = port
    }

    /// The authority of a `CONNECT` request: `host:port` or `[ipv6]:port`, port required.
    public init?(authority: String) {
        let host: Substring
        let port: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            port = rest.dropFirst()
        } else {
            guard let colon = authority.lastIndex(of: ":") else { return nil }
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
            if host.contains(":") { return nil }  // an IPv6 address must be bracketed
        }
        guard port.count <= 5, port.allSatisfy(\.isASCII), let number = Int(port) else { return nil }
        self.init(host: String(host), port: number)
    }

    /// The host and port of an absolute `http` or `https` URL (the scheme's port when none
    /// is written), or `nil`. Parsed by Foundation's `URL`, as AsyncHTTPClient parses it.
    public init?(url text: String) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return nil }
        self.init(host: host, port: url.port ?? (scheme == "https" ? 443 : 80))
    }

    /// `host:port`, IPv6 bracketed.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
