/// What SELECT/EXAMINE told about a mailbox: enough to know whether UIDs seen before are
/// still valid (`uidValidity`) and where new mail starts (`uidNext`).
public struct IMAPMailboxStatus: Sendable, Hashable {
    /// When it changes, every UID remembered for this mailbox is void (RFC 3501 §2.3.1.1).
    public var uidValidity: UInt32
    /// The UID the next message will get; some servers omit it.
    public var uidNext: UInt32?
    /// Messages in the mailbox.
    public var exists: Int

    public init(uidValidity: UInt32, uidNext: UInt32?, exists: Int) {
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.exists = exists
    }
}
