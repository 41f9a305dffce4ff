public import Foundation

/// One message as UID FETCH returned it: the raw bytes (possibly cut at the caller's
/// bound) and what is needed to tell whether they are whole.
public struct IMAPFetchedMessage: Sendable, Hashable {
    public var uid: UInt32
    /// RFC822.SIZE: the whole message's size, whatever was fetched.
    public var size: Int
    /// INTERNALDATE: when the server received it.
    public var internalDate: Date?
    /// BODY[], the first `maximumBytes` of it at most.
    public var bytes: [UInt8]
    /// True when the message is larger than what was fetched.
    public var isTruncated: Bool

    public init(uid: UInt32, size: Int, internalDate: Date?, bytes: [UInt8], isTruncated: Bool) {
        self.uid = uid
        self.size = size
        self.internalDate = internalDate
        self.bytes = bytes
        self.isTruncated = isTruncated
    }
}
