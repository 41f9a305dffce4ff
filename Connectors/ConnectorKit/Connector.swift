public import Foundation
public import HTTPTypes

/// A messenger, mailbox or webhook adapter: it checks that a delivery really comes from
/// its platform, turns it into normalized events, and sends replies through an injected
/// HTTP client.
///
/// Connectors are stateless values: the credentials of one channel come in with each call,
/// so one connector value serves every channel of its kind. They import nothing of
/// Switchboard but this module; the App maps their vocabulary to the domain.
public protocol Connector: Sendable {
    /// The channel kind this connector serves (`telegram`, `whatsapp`, `webhook`).
    var kind: String { get }

    /// Checks and completes the credentials a tenant sends when creating a channel:
    /// refuses missing or malformed fields (`ConnectorError.invalidCredentials`, naming
    /// the field), generates the secrets the platform lets us choose. Pure: no network.
    func prepareCredentials(_ submitted: [String: String]) throws(ConnectorError) -> PreparedCredentials

    /// Talks to the platform once the channel exists (Telegram: `getMe`, then
    /// `setWebhook(url, secret_token)`); a bad token is `credentialsRejected`. Default: nothing.
    func register(webhookURL: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError)

    /// Checks the delivery's signature or secret against the channel's credentials.
    /// Throws `ConnectorError.unauthorized` when it does not match; nothing is stored then.
    func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError)

    /// Turns a verified delivery into events. Deterministic: the same bytes give the same
    /// events. Throws `ConnectorError.malformed` for a body it cannot read. A kind it does
    /// not handle is an event of kind `.ignored`, not an error.
    func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent]

    /// Sends one message through the platform.
    func send(
        _ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> SendReceipt

    /// Tells the platform an inbound event was received, where it waits for that (Telegram
    /// keeps a pressed button spinning until `answerCallbackQuery`). `messageID` is the
    /// event's `InboundEvent.messageID`; events that need nothing are ignored.
    func acknowledge(messageID: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError)

    /// Whether `acknowledge` has anything to do for this event: asked first, so that an
    /// event that needs nothing (most) costs no opening of the channel's credentials.
    func needsAcknowledgement(messageID: String) -> Bool

    /// Answers a platform's verification GET (Meta's `hub.challenge`): the body to answer
    /// 200 with, or `nil` when the platform has no such check (then the GET is 404).
    /// Throws `unauthorized` when the check fails.
    func answerVerification(query: [String: String], credentials: ChannelCredentials) throws(ConnectorError) -> String?

    /// Fetches a file the platform keeps (a voice note, by the reference `parse` kept)
    /// into memory, for one use: callers never store it. Platforms without files refuse.
    func download(reference: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) -> [UInt8]

    /// How long after a contact's last message the platform lets the business answer;
    /// `nil` (the default) when it sets no limit.
    var messagingWindow: MessagingWindow? { get }

    /// Whether senders arrive as bare ids whose name is looked up once (`profile`).
    var looksUpProfiles: Bool { get }

    /// The name and username of a sender known only by id (Meta's IGSID/PSID), or `nil`
    /// when the platform has none to give. A failure is thrown; the caller tries later.
    func profile(of senderID: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) -> InboundEvent.Sender?
}

extension Connector {
    public func register(webhookURL: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) {}

    public func acknowledge(messageID: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) {}

    public func needsAcknowledgement(messageID: String) -> Bool { false }

    public func answerVerification(query: [String: String], credentials: ChannelCredentials) throws(ConnectorError) -> String? {
        nil
    }

    public func download(reference: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) -> [UInt8] {
        throw ConnectorError(.sendFailed, "this platform keeps no files to download")
    }

    public var messagingWindow: MessagingWindow? { nil }

    public var looksUpProfiles: Bool { false }

    public func profile(of senderID: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) -> InboundEvent.Sender? {
        nil
    }
}

/// Credentials ready to store (encrypted), and the generated secrets to show the tenant
/// once, in the answer that creates the channel.
public struct PreparedCredentials: Sendable, Equatable {
    public var stored: [String: String]
    public var revealOnce: [String: String]

    public init(stored: [String: String], revealOnce: [String: String] = [:]) {
        self.stored = stored
        self.revealOnce = revealOnce
    }
}

/// The decrypted credentials of one channel, by name (`bot_token`, `app_secret`, …).
public struct ChannelCredentials: Sendable, Equatable {
    public var values: [String: String]
    public init(_ values: [String: String]) { self.values = values }
    public subscript(_ name: String) -> String? { values[name] }
}

/// One delivery as it arrived: the raw bytes exactly as sent (signatures cover them), the
/// headers, and when it was received (the injected clock, for replay windows).
public struct WebhookDelivery: Sendable {
    public var headers: HTTPFields
    public var body: [UInt8]
    public var receivedAt: Date

    public init(headers: HTTPFields, body: [UInt8], receivedAt: Date) {
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
    }
}

/// A normalized inbound event: who sent what, in which chat, with the platform's ids.
public struct InboundEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// A new message from a person (text, media, location, a button press, a reaction).
        case message
        /// A person edited an earlier message; `messageID` names it.
        case edit
        /// A person withdrew (unsent) an earlier message; `messageID` names it.
        case delete
        /// A delivery status (`sent`, `delivered`, `read`, `failed`) of a message we sent.
        case status
        /// A kind Switchboard does not handle: acknowledged and recorded as ignored.
        case ignored
    }

    public var kind: Kind
    /// The dedupe key, unique per channel: Telegram `update_id`, WhatsApp wamid (for a
    /// status `wamid:status`), the generic channel's `event_id`.
    public var eventID: String
    /// The platform's id of the message this event is about (for edits: the original; for
    /// statuses: ours).
    public var messageID: String?
    public var sender: Sender?
    /// Where the conversation happens; replies go to `chat.externalID`.
    public var chat: Chat?
    public var text: String?
    public var attachments: [Attachment]
    public var sentAt: Date?
    /// For `.status`: the state reported, and the platform's error text when it failed.
    public var status: String?
    public var statusError: String?
    /// For `.ignored`: what it was (`my_chat_member`, `field:account_update`, …).
    public var ignoredReason: String?
    /// The event's own raw form, kept with it instead of the delivery's where one fetch
    /// brings many (a mailbox's messages).
    public var raw: [UInt8]?
    /// Platform ids of earlier messages this one answers, newest first (a mail's
    /// `In-Reply-To`, then its `References` from the end): the conversation of the first
    /// one known is this message's.
    public var threadKeys: [String]
    /// Whether a message naming no known conversation joins its contact's open
    /// conversation of the same `chat.title` (a mail reply that lost its references but
    /// kept its subject).
    public var matchTitle: Bool
    /// Why this message is stored but never answered: an auto-reply, a bounce, a list.
    public var noReply: String?
    /// At most this many of the contact's messages on the channel within an hour are
    /// answered: two auto-responders must not answer each other forever.
    public var replyLimit: Int?
    /// A message the business sent itself, reported back (Meta's echoes): stored as sent
    /// by a person at the business, never answered. `sender` is then the contact it went
    /// to, `chat` its chat.
    public var fromBusiness: Bool

    public init(
        kind: Kind, eventID: String, messageID: String? = nil, sender: Sender? = nil, chat: Chat? = nil,
        text: String? = nil, attachments: [Attachment] = [], sentAt: Date? = nil,
        status: String? = nil, statusError: String? = nil, ignoredReason: String? = nil,
        raw: [UInt8]? = nil, threadKeys: [String] = [], matchTitle: Bool = false, noReply: String? = nil, replyLimit: Int? = nil,
        fromBusiness: Bool = false
    ) {
        self.fromBusiness = fromBusiness
        self.raw = raw
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

    /// A person on the platform. `externalID` is the stable id the contact is found by;
    /// `alternateIDs` are further identities of the same person (WhatsApp's
    /// business-scoped `user_id` beside the phone-number `wa_id`).
    public struct Sender: Sendable, Hashable {
        public var externalID: String
        public var name: String?
        public var username: String?
        public var phone: String?
        public var email: String?
        public var languageCode: String?
        public var alternateIDs: [String]

        public init(
            externalID: String, name: String? = nil, username: String? = nil, phone: String? = nil,
            email: String? = nil, languageCode: String? = nil, alternateIDs: [String] = []
        ) {
            self.externalID = externalID
            self.name = name
            self.username = username
            self.phone = phone
            self.email = email
            self.languageCode = languageCode
            self.alternateIDs = alternateIDs
        }
    }

    /// A chat: the person's private chat, a group, or a broadcast channel.
    public struct Chat: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable { case direct, group, channel }
        public var externalID: String
        public var kind: Kind
        public var title: String?

        public init(externalID: String, kind: Kind, title: String? = nil) {
            self.externalID = externalID
            self.kind = kind
            self.title = title
        }
    }

    /// Something beside the text, by the platform's reference: nothing is downloaded at
    /// ingest. `kind` is one of `photo`, `image`, `document`, `voice`, `audio`, `video`,
    /// `sticker`, `location`, `contact`, `button` (a button or list reply, a quick reply or
    /// a postback, `reference` = its payload), `reaction` (`reference` = the message reacted
    /// to, `name` = emoji, none when withdrawn), `file`, `share` (a shared post, `reference`
    /// = its URL), `story_mention` and `story_reply` (`reference` = the story's URL or id).
    public struct Attachment: Sendable, Hashable {
        public var kind: String
        /// File id, media id, URL, payload id, or the reacted message id.
        public var reference: String?
        public var mimeType: String?
        public var name: String?
        /// Small typed details as strings: `latitude`, `longitude`, `phone`, `duration`, `size`, …
        public var details: [String: String]

        public init(kind: String, reference: String? = nil, mimeType: String? = nil, name: String? = nil, details: [String: String] = [:]) {
            self.kind = kind
            self.reference = reference
            self.mimeType = mimeType
            self.name = name
            self.details = details
        }
    }
}

/// A message to send to a person through a channel.
public struct OutboundMessage: Sendable, Hashable {
    /// The chat to send to (`InboundEvent.chat.externalID`).
    public var chatExternalID: String
    public var text: String
    /// Stable per stored message: sent as the platform's idempotency key where it has one
    /// (the generic webhook's `event_id`), so a retried send is recognizable.
    public var idempotencyKey: String
    /// Extra fields some platforms carry (the generic webhook's `conversation_id`,
    /// `contact.id`, `contact.external_id`, `ai_generated`, `in_reply_to`; a mail's
    /// `reply_to_external_id`, the platform id of the message answered, and `chat_title`).
    public var context: [String: String]
    /// Files to send by URL, after the text.
    public var attachments: [Attachment]
    /// Buttons offered with the text (Messenger's and Instagram's quick replies).
    public var quickReplies: [QuickReply]
    /// The platform tag that lets the message out of the free-form window (`HUMAN_AGENT`,
    /// a person's answer on Messenger or Instagram between 24 hours and 7 days).
    public var tag: String?
    /// An approved template to send instead of `text` (WhatsApp; `text` is then its
    /// rendered body, for the record).
    public var template: TemplateMessage?

    public init(
        chatExternalID: String, text: String, idempotencyKey: String, context: [String: String] = [:],
        attachments: [Attachment] = [], quickReplies: [QuickReply] = [], tag: String? = nil, template: TemplateMessage? = nil
    ) {
        self.chatExternalID = chatExternalID
        self.text = text
        self.idempotencyKey = idempotencyKey
        self.context = context
        self.attachments = attachments
        self.quickReplies = quickReplies
        self.tag = tag
        self.template = template
    }

    /// A file by URL: `kind` is `image`, `video`, `audio` or `file`.
    public struct Attachment: Sendable, Hashable {
        public var kind: String
        public var url: String
        public init(kind: String, url: String) {
            self.kind = kind
            self.url = url
        }
    }

    public struct QuickReply: Sendable, Hashable {
        public var title: String
        public var payload: String
        public init(title: String, payload: String) {
            self.title = title
            self.payload = payload
        }
    }
}

/// What the platform answered to a send.
public struct SendReceipt: Sendable, Hashable {
    /// The platform's ids of the sent message(s) (a long text may be split in several).
    public var externalIDs: [String]
    public init(externalIDs: [String]) { self.externalIDs = externalIDs }
}

/// Outbound HTTP, injected so connectors stay free of a client library and tests can
/// record requests. Implementations apply timeouts; connectors interpret statuses.
public protocol OutboundHTTPClient: Sendable {
    /// Sends `request`; the answer's body is read up to the implementation's usual bound
    /// (API answers: a few MiB).
    func execute(_ request: HTTPRequest, body: [UInt8]?) async throws -> (HTTPResponse, [UInt8])

    /// Sends `request`, reading an answer body of up to `maximumResponseBytes` (a media
    /// download: the platform's own file limit) and throwing past it, without reading
    /// further. The default reads with the usual bound.
    func execute(_ request: HTTPRequest, body: [UInt8]?, maximumResponseBytes: Int) async throws -> (HTTPResponse, [UInt8])
}

extension OutboundHTTPClient {
    public func execute(_ request: HTTPRequest, body: [UInt8]?, maximumResponseBytes: Int) async throws -> (HTTPResponse, [UInt8]) {
        try await execute(request, body: body)
    }
}
