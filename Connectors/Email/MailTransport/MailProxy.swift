/// The egress gate: an HTTP CONNECT proxy every connection tunnels through (host:port).
/// The gate resolves the mail server's name and refuses private addresses, so the mail
/// connector cannot be turned against the server's own network.
public struct MailProxy: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// The `Proxy-Authorization` value the gate asks of its clients (its token), so no
    /// other local process can use it.
    public var authorization: String?

    public init(host: String, port: Int, authorization: String? = nil) {
        self.host = host
        self.port = port
        self.authorization = authorization
    }
}
