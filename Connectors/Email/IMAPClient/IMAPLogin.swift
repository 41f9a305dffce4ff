/// Who to log in as. The secret never appears in an `IMAPError`'s description.
public struct IMAPLogin: Sendable {
    public enum Secret: Sendable {
        /// A password for AUTHENTICATE PLAIN or LOGIN.
        case password(String)
        /// An OAuth 2 access token for AUTHENTICATE XOAUTH2 (Gmail, Outlook).
        case oauth2AccessToken(String)
    }

    public var user: String
    public var secret: Secret

    public init(user: String, secret: Secret) {
        self.user = user
        self.secret = secret
    }
}

extension IMAPLogin: CustomStringConvertible, CustomDebugStringConvertible {
    /// The user only: a login that ends up in a log line must not carry its secret.
    public var description: String { "IMAPLogin(user: \(user), secret: <redacted>)" }
    public var debugDescription: String { description }
}
