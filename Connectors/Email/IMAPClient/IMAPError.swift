/// Why an IMAP operation failed. The description carries the server's text or ours, never
/// a password or a token: callers log it and may show it to a tenant.
public struct IMAPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The connection could not be opened, or broke, timed out or was closed.
        case transport
        /// The server refused the credentials, or offered no safe way to send them.
        case authenticationFailed
        /// SELECT/EXAMINE named a mailbox the server does not have.
        case mailboxMissing
        /// The server answered NO or BAD to a command.
        case refused
        /// The server said something IMAP does not allow, or that we will not read.
        case protocolViolation
        /// A literal, a number or a response was over our bounds.
        case tooLarge
    }

    public var kind: Kind
    public var description: String
    /// A read that ran out of time rather than a broken connection: IDLE's wait ends so.
    var isTimeout = false

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

extension IMAPError {
    /// A server text is kept short and printable: it ends up in logs.
    static func clip(_ text: String) -> String {
        let printable = text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) }
        return String(String(printable).prefix(200))
    }
}
