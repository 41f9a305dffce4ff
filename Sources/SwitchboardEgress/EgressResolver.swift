public import NIOCore

/// How the egress gate turns a host into the addresses it may connect to.
///
/// Production uses ``GetaddrinfoResolver``; a test may answer a name with an address of its
/// choosing (a name that resolves to loopback, a DNS answer that changes between lookups)
/// without touching `/etc/hosts` or a DNS server.
public protocol EgressResolver: Sendable {
    /// Every address `host` stands for, each with `port` set; throws when it has none.
    ///
    /// `host` is the text of a URL's host, unbracketed: a name or any numeric form the
    /// system accepts (`2130706433`, `0251.0376.0251.0376`, `0:0:0:0:0:ffff:7f00:1`), which
    /// the resolver — not a string check — reads as the address it is.
    func addresses(of host: String, port: Int) async throws -> [SocketAddress]
}
