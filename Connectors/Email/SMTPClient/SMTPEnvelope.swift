/// The addresses SMTP delivers by (MAIL FROM and RCPT TO), apart from the headers: a
/// reply's envelope sender is the account, its recipients whoever it goes to.
public struct SMTPEnvelope: Sendable {
    /// The reverse path; empty for a bounce-style null sender.
    public var sender: String
    public var recipients: [String]

    public init(sender: String, recipients: [String]) {
        self.sender = sender
        self.recipients = recipients
    }
}
