/// How a mail server's port is protected. Both end in TLS: there is no plaintext mode,
/// because every mail account's password or token crosses these connections.
public enum MailSecurity: String, Sendable, Hashable, CaseIterable {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    case tls
    /// Plaintext until the protocol's STARTTLS and the server's go-ahead (IMAP 143,
    /// submission 587); the client calls `MailConnection.startTLS()` itself.
    case starttls
}
