/// Who the session logs in as. The secret is sent only over TLS and never appears in an
/// error or a log line.
public struct SMTPAuthentication: Sendable {
    public enum Secret: Sendable {
        case password(String)
        /// An OAuth 2 access token (Gmail, Microsoft 365): sent with SASL XOAUTH2.
        case oauth2AccessToken(String)
    }

    public var user: String
    public var secret: Secret

    public init(user: String, secret: Secret) {
        self.user = user
        self.secret = secret
    }

    /// The secret's text, for scrubbing it from anything the server echoes back.
    var secretText: String {
        switch secret {
        case .password(let password): password
        case .oauth2AccessToken(let token): token
        }
    }
}
