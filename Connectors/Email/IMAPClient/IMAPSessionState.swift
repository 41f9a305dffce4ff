/// The session's bookkeeping, as a value: the next tag, whether a command is running,
/// whether the connection can still be trusted, and what the server told us about the
/// selected mailbox. `IMAPSession` keeps it behind a lock; the rules are tested here.
struct IMAPSessionState: Sendable {
    /// Tags run A0001...A9999 then wrap to A0001: only uniqueness among commands in
    /// flight matters, and we never have more than one.
    private(set) var nextTag = 1
    /// True while a command owns the connection: IMAP commands of one client must not
    /// interleave on the wire, so a second caller is refused instead of corrupting both.
    private(set) var isBusy = false
    /// Set once the stream cannot be read further (transport failure, a response over our
    /// bounds, a violation): every later command fails at once.
    private(set) var brokenReason: String?
    var capabilities: Set<String> = []
    /// Messages in the selected mailbox, as EXISTS/EXPUNGE last told.
    private(set) var exists: UInt32 = 0

    /// Claims the connection for one command and returns its tag.
    mutating func begin() throws(IMAPError) -> String {
        if let brokenReason {
            throw IMAPError(.transport, "the connection is no longer usable: \(brokenReason)")
        }
        guard !isBusy else { throw IMAPError(.refused, "another IMAP command is still running on this session") }
        isBusy = true
        let tag = "A" + String(repeating: "0", count: max(0, 4 - String(nextTag).count)) + String(nextTag)
        nextTag = nextTag >= 9_999 ? 1 : nextTag + 1
        return tag
    }

    /// Releases the connection. An error that leaves the stream out of step (or none at
    /// all to read) marks the session broken.
    mutating func end(failure: IMAPError?) {
        isBusy = false
        guard let failure else { return }
        switch failure.kind {
        case .transport, .protocolViolation, .tooLarge:
            if brokenReason == nil { brokenReason = failure.description }
        case .authenticationFailed, .mailboxMissing, .refused:
            break
        }
    }

    mutating func markBroken(_ reason: String) {
        if brokenReason == nil { brokenReason = reason }
    }

    /// Applies untagged data; returns true when it reports new mail (EXISTS grew).
    mutating func apply(_ untagged: IMAPUntagged) -> Bool {
        switch untagged {
        case let .exists(count):
            defer { exists = count }
            return count > exists
        case .expunge:
            if exists > 0 { exists -= 1 }
            return false
        default:
            return false
        }
    }

    /// A new SELECT/EXAMINE starts counting afresh.
    mutating func resetMailbox() {
        exists = 0
    }
}
