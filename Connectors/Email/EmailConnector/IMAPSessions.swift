import Foundation
import IMAPClient
import Synchronization

/// The mailboxes' open IMAP sessions between pulls, by channel settings: a watched
/// mailbox keeps one logged-in, selected connection (as a mail client does) instead of
/// logging in for every fetch — servers limit logins, and IDLE needs the session to stay.
///
/// A session is taken out while a pull uses it and put back after a pull that went well;
/// one that failed is closed and not put back, so the next pull starts clean. Sessions
/// unused for `idleLimit` (a channel deleted or moved to another replica) are closed.
final class IMAPSessions: Sendable {
    struct Entry: Sendable {
        var session: IMAPSession
        var status: IMAPMailboxStatus
        var lastUsed: Date
    }

    private let entries = Mutex<[EmailCredentials: Entry]>([:])
    let idleLimit: TimeInterval = 600
    let now: @Sendable () -> Date

    init(now: @escaping @Sendable () -> Date) { self.now = now }

    func take(_ key: EmailCredentials) -> Entry? {
        let now = self.now()
        let (entry, stale) = entries.withLock { entries -> (Entry?, [IMAPSession]) in
            let entry = entries.removeValue(forKey: key)
            let stale = entries.filter { now.timeIntervalSince($0.value.lastUsed) > idleLimit }
            for key in stale.keys { entries[key] = nil }
            return (entry, stale.values.map(\.session))
        }
        if !stale.isEmpty {
            Task { for session in stale { await session.logout() } }
        }
        return entry
    }

    func put(_ key: EmailCredentials, _ entry: Entry) {
        var entry = entry
        entry.lastUsed = now()
        let replaced = entries.withLock { entries in
            defer { entries[key] = entry }
            return entries[key]?.session
        }
        if let replaced { Task { await replaced.logout() } }
    }
}
