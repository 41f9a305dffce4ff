/// Why a mail connection failed. The kinds are what a caller decides on (retry later,
/// tell the user the proxy refused, give up on a hostile server); the description is for
/// the log and carries no secret: the transport never sees what the protocol sends.
public struct MailTransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// No TCP connection: refused, no route, name not found, connect timed out.
        case unreachable
        /// The egress proxy answered the CONNECT with anything but 2xx, or hung up.
        case proxyRefused
        /// The handshake failed: an untrusted or wrong-name certificate, no common
        /// protocol, or bytes the server slipped in before STARTTLS took effect.
        case tls
        /// A read or the TLS handshake took longer than allowed.
        case timeout
        /// The server closed the connection (or it failed) before the read was satisfied.
        case closed
        /// A line longer than `maximumLineBytes`: the connection is closed, since the
        /// rest of that line cannot be read as anything.
        case lineTooLong
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
