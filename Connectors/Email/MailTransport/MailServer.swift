/// Where a mail server listens and how its port is protected. `host` is also the name the
/// server's certificate must carry.
public struct MailServer: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var security: MailSecurity

    public init(host: String, port: Int, security: MailSecurity) {
        self.host = host
        self.port = port
        self.security = security
    }
}
