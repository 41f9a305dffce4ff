/// Where a mailbox's fetching stands: the mailbox's `UIDVALIDITY` and the highest UID
/// stored, as the channel keeps it (`"<uidvalidity>:<uid>"`, shown as is on the channel's
/// API answer). A cursor of another validity means the mailbox was made anew and its UIDs
/// count again from the start.
struct EmailCursor: Sendable, Hashable, CustomStringConvertible {
    var uidValidity: UInt32
    var lastUID: UInt32

    init(uidValidity: UInt32, lastUID: UInt32) {
        self.uidValidity = uidValidity
        self.lastUID = lastUID
    }

    /// `nil` for text that is not a cursor (a channel's first fetch, or damage): the fetch
    /// then starts as a new channel's does.
    init?(_ text: String?) {
        guard let text else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let validity = UInt32(parts[0]), let uid = UInt32(parts[1]) else { return nil }
        self.init(uidValidity: validity, lastUID: uid)
    }

    var description: String { "\(uidValidity):\(lastUID)" }
}
