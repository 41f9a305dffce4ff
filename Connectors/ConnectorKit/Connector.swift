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
    static var kind: String { get }

    /// Checks the delivery's signature or secret against the channel's credentials.
    /// Throws `ConnectorError.unauthorized` when it does not match; nothing is stored then.
    func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError)

    /// Turns a verified delivery into events. Deterministic: the same bytes give the same
    /// events. Throws `ConnectorError.malformed` for a body it cannot read.
    func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent]

    /// Sends one message through the platform.
    func send(
        _ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> SendReceipt

    /// Answers a platform's verification GET (Meta's `hub.challenge`); `nil` when the
    /// platform has none.
    func answerVerification(query: [String: String], credentials: ChannelCredentials) throws(ConnectorError) -> String?
}

extension Connector {
    public func answerVerification(query: [String: String], credentials: ChannelCredentials) throws(ConnectorError) -> String? {
        nil
    }
}

/// The decrypted credentials of one channel, by name (`bot_token`, `app_secret`, …).
public struct ChannelCredentials: Sendable {
    public var values: [String: String]
    public init(_ values: [String: String]) { self.values = values }
    public subscript(_ name: String) -> String? { values[name] }
}

/// One delivery as it arrived: the raw bytes exactly as sent (signatures cover them), the
/// headers, and when it was received (for replay windows).
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
        /// A new message from a person.
        case message
        /// A message the person edited.
        case edit
        /// A delivery status (delivered, read, failed) of a message we sent.
        case status
        /// A kind Switchboard does not handle: acknowledged and recorded as ignored.
        case ignored
    }

    public var kind: Kind
    /// The platform's id of this event, the dedupe key (`update_id`, wamid, `event_id`).
    public var externalID: String
    public var sender: Sender?
    /// The chat or thread, when it is not the sender's private chat (groups).
    public var conversationExternalID: String?
    public var text: String?
    public var attachments: [Attachment]
    public var sentAt: Date?
    /// For statuses: the state reported (`delivered`, `read`, `failed`).
    public var status: String?

    public init(
        kind: Kind, externalID: String, sender: Sender? = nil, conversationExternalID: String? = nil,
        text: String? = nil, attachments: [Attachment] = [], sentAt: Date? = nil, status: String? = nil
    ) {
        self.kind = kind
        self.externalID = externalID
        self.sender = sender
        self.conversationExternalID = conversationExternalID
        self.text = text
        self.attachments = attachments
        self.sentAt = sentAt
        self.status = status
    }

    /// A person on the platform.
    public struct Sender: Sendable, Hashable {
        public var externalID: String
        public var name: String?
        public var phone: String?
        public var email: String?
        public var username: String?

        public init(externalID: String, name: String? = nil, phone: String? = nil, email: String? = nil, username: String? = nil) {
            self.externalID = externalID
            self.name = name
            self.phone = phone
            self.email = email
            self.username = username
        }
    }

    /// A file, location, contact card or sticker, by the platform's reference (nothing is
    /// downloaded at ingest).
    public struct Attachment: Sendable, Hashable {
        public var kind: String
        public var reference: String
        public var mimeType: String?
        public var name: String?

        public init(kind: String, reference: String, mimeType: String? = nil, name: String? = nil) {
            self.kind = kind
            self.reference = reference
            self.mimeType = mimeType
            self.name = name
        }
    }
}

/// A message to send to a person through a channel.
public struct OutboundMessage: Sendable, Hashable {
    /// The platform's id of the recipient (chat id, phone number, contact id).
    public var recipientExternalID: String
    public var text: String
    /// Stable per stored message: the platform's idempotency key where it has one.
    public var idempotencyKey: String

    public init(recipientExternalID: String, text: String, idempotencyKey: String) {
        self.recipientExternalID = recipientExternalID
        self.text = text
        self.idempotencyKey = idempotencyKey
    }
}

/// What the platform answered to a send.
public struct SendReceipt: Sendable, Hashable {
    /// The platform's ids of the sent message(s) (a long text may be split).
    public var externalIDs: [String]
    public init(externalIDs: [String]) { self.externalIDs = externalIDs }
}

/// Outbound HTTP, injected so connectors stay free of a client library and tests can
/// record requests.
public protocol OutboundHTTPClient: Sendable {
    func execute(_ request: HTTPRequest, body: [UInt8]?) async throws -> (HTTPResponse, [UInt8])
}
