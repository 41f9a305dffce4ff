public import Foundation

/// One test's own mailbox on the test servers: log in to IMAP or submission as `user`
/// with `password`; mail to `address` lands in its INBOX.
public struct TestMailbox: Sendable, Hashable {
    /// The local part, e.g. "reply-1a2b3c4d".
    public var name: String
    /// "name@switchboard.test".
    public var address: String
    /// The login name as Dovecot expects it: the full address.
    public var user: String { address }
    public var password: String
    public var endpoints: MailServerEndpoints

    /// Dovecot's maildir for this mailbox's INBOX.
    public var maildir: URL {
        URL(fileURLWithPath: endpoints.directory)
            .appendingPathComponent("mail/\(MailServerEndpoints.domain)/\(name)/Maildir")
    }

    /// The raw messages in the INBOX now (new and seen alike), oldest file name first.
    public func messages() -> [[UInt8]] {
        var files: [URL] = []
        for folder in ["new", "cur"] {
            let url = maildir.appendingPathComponent(folder)
            files += (try? FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)) ?? []
        }
        return files.sorted { $0.lastPathComponent < $1.lastPathComponent }
            .compactMap { try? Data(contentsOf: $0) }
            .map { Array($0) }
    }

    /// Waits until the INBOX holds at least `count` messages. Postfix answers 250 once
    /// the message is queued and hands it to Dovecot a moment later, so this polls the
    /// maildir, bounded by `timeout`, and fails rather than wait on.
    public func waitForMessages(count: Int = 1, timeout: Duration = .seconds(10)) async throws -> [[UInt8]] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let found = messages()
            if found.count >= count { return found }
            guard clock.now < deadline else {
                throw TestMailServersError(
                    message: "\(address) has \(found.count) of \(count) messages after \(timeout); see \(endpoints.directory)/logs"
                )
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
