/// Why a message could not be read at all. Everything short of these is read best effort
/// and reported in `MailMessage.warnings`: a connector must never lose a message over a
/// sloppy mailer, but a hostile one must not cost it unbounded time or memory.
public struct MailError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Over one of `MailLimits`.
        case tooLarge
        /// Multipart nested deeper, or with more parts, than `MailLimits` allows.
        case tooComplex
        /// Not a message at all: no header could be read.
        case malformed
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// The bounds on one message. The defaults fit what IMAP servers deliver (Gmail caps a
/// message at 25 MB before encoding) with room to spare.
public struct MailLimits: Sendable {
    /// The raw message, in bytes.
    public var messageBytes = 64 * 1024 * 1024
    /// One header section (the top one or a part's), in bytes: real ones are a few KB, the
    /// longest (DKIM, Received chains, long References) well under this.
    public var headerBytes = 256 * 1024
    /// Header fields in one section.
    public var headerFields = 2_000
    /// Multipart nesting: real mail goes three or four deep.
    public var depth = 8
    /// Body parts in the whole message, every level counted.
    public var parts = 100
    /// Addresses in one address header, ids in References.
    public var listItems = 1_000
    /// Whether attachments' contents are decoded into `MailAttachment.content`; a reader
    /// that keeps only their names, types and sizes saves the work (base64 is most of a
    /// large mail's bytes).
    public var decodesAttachments = true

    public init() {}
}
