/// Why a submission failed, in the terms the outbox decides on: `isPermanent` means do
/// not retry (the server said 5xx, or the message itself is unsendable); everything else
/// is worth another try later.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The connection failed: unreachable, proxy, TLS, timeout, closed mid-reply.
        case transport
        /// The server refused the credentials (or offers no way to present them).
        case authenticationFailed
        /// The server refused the sender, a recipient or the message.
        case rejected
        /// The server spoke something other than SMTP, or the request could not be put
        /// into SMTP (an overlong line, an address with a line break).
        case protocolViolation
    }

    public var kind: Kind
    /// The server's reply code, when the failure is one.
    public var code: Int?
    /// 5xx: do not retry; 4xx and transport: retry later.
    public var isPermanent: Bool
    /// The server's text, never the password or token.
    public var description: String

    public init(_ kind: Kind, code: Int? = nil, isPermanent: Bool, _ description: String) {
        self.kind = kind
        self.code = code
        self.isPermanent = isPermanent
        self.description = description
    }

    /// A refusal as the server worded it: permanent exactly when the code is 5xx.
    init(_ kind: Kind, reply: SMTPReply, while doing: String) {
        self.init(kind, code: reply.code, isPermanent: reply.code >= 500, "\(doing): \(reply.code) \(reply.text)")
    }
}
