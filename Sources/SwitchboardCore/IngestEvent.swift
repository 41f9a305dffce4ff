public import Foundation

/// One normalized inbound event as ingest stores it: the domain's copy of a connector's
/// event, encoded as JSON for the single-statement ingest function.
public struct IngestEvent: Sendable, Hashable, Encodable {
    public enum Kind: String, Sendable, Hashable, Encodable { case message, edit, delete, status, ignored }

    public struct Sender: Sendable, Hashable, Encodable {
        public var externalID: String
        public var name: String?
        public var username: String?
        public var phone: String?
        public var email: String?
        public var language: String?
        public var alternateIDs: [String]

        public init(
            externalID: String, name: String? = nil, username: String? = nil, phone: String? = nil, email: String? = nil,
            language: String? = nil, alternateIDs: [String] = []
        ) {
            self.externalID = externalID
            self.name = name
            self.username = username
            self.phone = phone
            self.email = email
            self.language = language
            self.alternateIDs = alternateIDs
        }

        enum CodingKeys: String, CodingKey {
            case externalID = "external_id", name, username, phone, email, language, alternateIDs = "alternate_ids"
        }
    }

    public struct Chat: Sendable, Hashable, Encodable {
        public var externalID: String
        public var kind: String
        public var title: String?

        public init(externalID: String, kind: String, title: String? = nil) {
            self.externalID = externalID
            self.kind = kind
            self.title = title
        }

        enum CodingKeys: String, CodingKey { case externalID = "external_id", kind, title }
    }

    /// An attachment by reference, as stored in a message's `attachments` JSON.
    public struct Attachment: Sendable, Hashable, Codable {
        public var kind: String
        public var reference: String?
        public var mimeType: String?
        public var name: String?
        public var details: [String: String]

        public init(kind: String, reference: String? = nil, mimeType: String? = nil, name: String? = nil, details: [String: String] = [:]) {
            self.kind = kind
            self.reference = reference
            self.mimeType = mimeType
            self.name = name
            self.details = details
        }

        enum CodingKeys: String, CodingKey { case kind, reference, mimeType = "mime_type", name, details }
    }

    public var kind: Kind
    public var eventID: String
    public var messageID: String?
    public var sender: Sender?
    public var chat: Chat?
    public var text: String?
    public var attachments: [Attachment]
    public var sentAt: Date?
    public var status: String?
    public var statusError: String?
    public var ignoredReason: String?
    /// This event's own raw form, kept instead of the delivery's (one mail of a fetch).
    public var payload: String?
    /// Platform ids of earlier messages this one answers, newest first (a mail's
    /// In-Reply-To and References): its conversation is theirs.
    public var threadKeys: [String]
    /// Whether a message that names no known conversation joins its contact's open one of
    /// the same chat title (a mail's subject).
    public var matchTitle: Bool
    /// Why this message is stored but never answered (an auto-reply, a bounce).
    public var noReply: String?
    /// At most this many of the contact's inbound messages on the channel within an hour
    /// are answered.
    public var replyLimit: Int?
    /// A platform's echo of a message the business sent: stored as sent, never answered.
    public var fromBusiness: Bool
    /// Whether a new contact without a name has its profile looked up (the channel's
    /// connector looks profiles up).
    public var lookupProfile: Bool

    public init(
        kind: Kind, eventID: String, messageID: String? = nil, sender: Sender? = nil, chat: Chat? = nil, text: String? = nil,
        attachments: [Attachment] = [], sentAt: Date? = nil, status: String? = nil, statusError: String? = nil,
        ignoredReason: String? = nil, payload: String? = nil, threadKeys: [String] = [], matchTitle: Bool = false,
        noReply: String? = nil, replyLimit: Int? = nil, fromBusiness: Bool = false, lookupProfile: Bool = false
    ) {
        self.fromBusiness = fromBusiness
        self.lookupProfile = lookupProfile
        self.payload = payload
        self.threadKeys = threadKeys
        self.matchTitle = matchTitle
        self.noReply = noReply
        self.replyLimit = replyLimit
        self.kind = kind
        self.eventID = eventID
        self.messageID = messageID
        self.sender = sender
        self.chat = chat
        self.text = text
        self.attachments = attachments
        self.sentAt = sentAt
        self.status = status
        self.statusError = statusError
        self.ignoredReason = ignoredReason
    }

    enum CodingKeys: String, CodingKey {
        case kind, eventID = "event_id", messageID = "message_id", sender, chat, text, attachments, sentAt = "sent_at", status
        case statusError = "status_error", ignoredReason = "ignored_reason", payload, threadKeys = "thread_keys"
        case matchTitle = "match_title", noReply = "no_reply", replyLimit = "reply_limit", fromBusiness = "from_business"
        case lookupProfile = "lookup_profile"
    }
}

/// What ingest did with one event.
public struct IngestResult: Sendable, Hashable {
    public var eventID: String
    /// `false` for a redelivery: nothing changed.
    public var created: Bool
    public var messageID: MessageID?

    public init(eventID: String, created: Bool, messageID: MessageID?) {
        self.eventID = eventID
        self.created = created
        self.messageID = messageID
    }
}
