import MailTransport
import Synchronization

/// One logged-in IMAP connection, read-only: it finds and fetches new mail and waits for
/// more, nothing else. Commands run one at a time (a second concurrent call is refused
/// with `.refused`); after a transport failure, a violation or a response over the
/// bounds, the connection is closed and every later call fails with `.transport`.
public final class IMAPSession: Sendable {
    let connection: MailConnection
    let source: IMAPConnectionSource
    let state: Mutex<IMAPSessionState>

    init(connection: MailConnection, capabilities: Set<String>) {
        self.connection = connection
        self.source = IMAPConnectionSource(connection: connection)
        var initial = IMAPSessionState()
        initial.capabilities = capabilities
        self.state = Mutex(initial)
    }

    /// What the server offers, uppercased (`IDLE`, `AUTH=PLAIN`, `X-GM-EXT-1`), as told
    /// after login (servers may offer more once authenticated).
    public var capabilities: Set<String> { state.withLock { $0.capabilities } }

    public var supportsIdle: Bool { capabilities.contains("IDLE") }

    /// EXAMINEs the mailbox (read-only: we never change flags, so \Seen stays the user's).
    /// A NO naming a missing mailbox is `.mailboxMissing`.
    public func select(_ mailbox: String) async throws(IMAPError) -> IMAPMailboxStatus {
        state.withLock { $0.resetMailbox() }
        let completion = try await execute(.examine(mailbox: mailbox))
        guard completion.status.condition == .ok else {
            let text = completion.status.text
            let lowered = text.lowercased()
            let missing = completion.status.code == .other("NONEXISTENT")
                || ["exist", "unknown", "not found"].contains { lowered.contains($0) }
            throw IMAPError(missing ? .mailboxMissing : .refused, "EXAMINE \(IMAPError.clip(mailbox)): \(text)")
        }
        var uidValidity: UInt32?
        var uidNext: UInt32?
        var exists: UInt32 = 0
        for untagged in completion.untagged {
            switch untagged {
            case let .status(status):
                if case let .uidValidity(value)? = status.code { uidValidity = value }
                if case let .uidNext(value)? = status.code { uidNext = value }
            case let .exists(count):
                exists = count
            default:
                break
            }
        }
        guard let uidValidity else {
            throw IMAPError(.protocolViolation, "EXAMINE \(IMAPError.clip(mailbox)) answered without UIDVALIDITY")
        }
        return IMAPMailboxStatus(uidValidity: uidValidity, uidNext: uidNext, exists: Int(exists))
    }

    /// UIDs above `uid`, ascending, at most `limit`. `n:*` always matches the highest UID
    /// even when it is below n (RFC 3501 §6.4.8), so results are filtered, not trusted.
    ///
    /// With ESEARCH (Dovecot, Gmail) the answer is ranges, short whatever the mailbox's size.
    /// Without it the server lists every UID in one line, so the transport's
    /// `maximumLineBytes` bounds how many one call can see (64 KiB: about 6,000 ten-digit
    /// UIDs); past that the answer is `.tooLarge` and the session is closed.
    public func uids(after uid: UInt32, limit: Int) async throws(IMAPError) -> [UInt32] {
        guard limit > 0, uid < UInt32.max else { return [] }
        let extended = capabilities.contains("ESEARCH")
        let completion = try await execute(extended ? .uidExtendedSearchFrom(uid + 1) : .uidSearchFrom(uid + 1))
        guard completion.status.condition == .ok else {
            throw IMAPError(.refused, "UID SEARCH: \(completion.status.text)")
        }
        var found: Set<UInt32> = []
        for untagged in completion.untagged {
            switch untagged {
            case let .search(numbers):
                for number in numbers where number > uid { found.insert(number) }
            case let .extendedSearch(ranges):
                // Ranges can span billions of UIDs: take at most `limit` from each (the
                // answer's `limit` lowest are among them), lowest ranges first, and stop once
                // a range starts above everything already kept.
                var highest: UInt32 = 0
                for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where range.upperBound > uid {
                    if found.count >= limit, range.lowerBound > highest { break }
                    var next = max(range.lowerBound, uid + 1)
                    for _ in 0..<limit {
                        found.insert(next)
                        highest = max(highest, next)
                        guard next < range.upperBound else { break }
                        next += 1
                    }
                }
            default:
                break
            }
        }
        return Array(found.sorted().prefix(limit))
    }

    /// Fetches these messages' first `maximumBytes` bytes with BODY.PEEK (no \Seen set).
    /// All answers are held until the command ends: memory is about `uids.count *
    /// maximumBytes`, so callers fetch in small batches.
    /// FETCH responses without a body (flag updates from other clients), for UIDs not asked
    /// for, or for messages expunged meanwhile are dropped: the answer may be shorter.
    public func fetch(uids: [UInt32], maximumBytes: Int) async throws(IMAPError) -> [IMAPFetchedMessage] {
        guard !uids.isEmpty else { return [] }
        guard maximumBytes > 0 else { throw IMAPError(.refused, "maximumBytes must be positive") }
        let wanted = Set(uids)
        let completion = try await execute(
            .uidFetch(set: IMAPSequenceSet.compact(uids), maximumBytes: maximumBytes),
            limits: IMAPLimits(maximumBodyBytes: maximumBytes, messages: wanted.count)
        )
        guard completion.status.condition == .ok else {
            throw IMAPError(.refused, "UID FETCH: \(completion.status.text)")
        }
        var messages: [UInt32: IMAPFetchedMessage] = [:]
        for case let .fetch(_, attributes) in completion.untagged {
            guard let uid = attributes.uid, wanted.contains(uid), var body = attributes.body else { continue }
            // A server that ignores the partial range still cannot make us keep more.
            if body.count > maximumBytes { body.removeLast(body.count - maximumBytes) }
            let size = max(attributes.size ?? body.count, body.count)
            messages[uid] = IMAPFetchedMessage(
                uid: uid, size: size, internalDate: attributes.internalDate, bytes: body, isTruncated: size > body.count
            )
        }
        return messages.keys.sorted().compactMap { messages[$0] }
    }

    /// IDLE until the server reports new mail or `wait` passes, then DONE. True when EXISTS
    /// grew meanwhile. The caller re-IDLEs (servers drop an IDLE after 30 minutes).
    public func idle(wait: Duration) async throws(IMAPError) -> Bool {
        try await idle(wait: wait, whenIdling: nil)
    }

    /// NOOP, the poll for servers without IDLE: true when EXISTS grew.
    public func noop() async throws(IMAPError) -> Bool {
        let completion = try await execute(.noop)
        guard completion.status.condition == .ok else { throw IMAPError(.refused, "NOOP: \(completion.status.text)") }
        return completion.newMail
    }

    /// LOGOUT and close; never fails (the connection is closed either way).
    /// Drops the connection at once, without LOGOUT: for a caller that gives up while a
    /// command (an IDLE) is still waiting, so the wait ends now rather than at its timeout.
    public func close() async {
        await connection.close()
    }

    public func logout() async {
        if let tag = try? state.withLock({ (state) throws(IMAPError) in try state.begin() }) {
            if let parts = try? IMAPCommand.logout.encode(tag: tag, literalPlus: false) {
                do {
                    for part in parts { try await send(part.bytes) }
                    // Bounded in total, not per read: a server that trickles must not hold us.
                    let reader = IMAPResponseReader()
                    let clock = ContinuousClock()
                    let deadline = clock.now.advanced(by: .seconds(5))
                    for _ in 0..<16 {
                        let remaining = clock.now.duration(to: deadline)
                        guard remaining > .zero else { break }
                        if case let .tagged(answered, _) = try await reader.read(from: source, firstLineTimeout: remaining),
                            answered == tag
                        { break }
                    }
                } catch {}
            }
            state.withLock {
                $0.end(failure: nil)
                $0.markBroken("logged out")
            }
        }
        await connection.close()
    }
}
