public import Foundation

// The values the message path passes between its steps and its stores: what a reply or a
// send reads first, what it records, and what the ingest hands over. The stores (ports,
// `Ports.swift`) speak in these; PostgreSQL and the in-memory adapters build them.

/// What the reply worker reads before it asks a model: the inbound message, its
/// conversation and channel, the channel's agent with its providers, and the history.
public struct ReplyContext: Sendable {
    /// A provider of the agent's chain, with its sealed API key.
    public struct ProviderEntry: Sendable {
        public var id: ProviderID
        public var name: String
        public var kind: ProviderKind
        public var baseURL: String?
        public var sealedAPIKey: [UInt8]?

        public init(id: ProviderID, name: String, kind: ProviderKind, baseURL: String? = nil, sealedAPIKey: [UInt8]? = nil) {
            self.id = id
            self.name = name
            self.kind = kind
            self.baseURL = baseURL
            self.sealedAPIKey = sealedAPIKey
        }
    }

    /// One message of the history, as the model sees it.
    public struct Turn: Sendable, Hashable {
        public var inbound: Bool
        public var text: String?
        public var attachmentKinds: [String]
        /// Who wrote it, in a group chat (`nil` in a direct chat and for our messages).
        public var sender: String?

        public init(inbound: Bool, text: String?, attachmentKinds: [String] = [], sender: String? = nil) {
            self.inbound = inbound
            self.text = text
            self.attachmentKinds = attachmentKinds
            self.sender = sender
        }
    }

    public var inboundID: MessageID
    public var inboundText: String?
    /// The platform's id of the inbound message (`callback:<id>` for a Telegram button press).
    public var inboundExternalID: String?
    public var target: SendTarget
    public var agent: (id: AgentID, settings: AgentSettings)?
    public var providers: [ProviderID: ProviderEntry]
    /// The conversation up to and including the inbound message, oldest first.
    public var history: [Turn]
    /// Whether an answer to the inbound message is already stored.
    public var answered: Bool
    /// What the contact's rights and the tenant's policy allow (the defaults when the
    /// contact is gone), and the regions of the tenant's providers.
    public var privacy: PrivacyContext
    public var providerRegions: [ProviderID: String]
    /// The tenant's prices for the provider kinds of the agent's chain.
    public var prices: PriceBook
    /// Whether the contact withdrew (unsent) the inbound message: it is not answered.
    public var inboundWithdrawn = false

    public init(
        inboundID: MessageID, inboundText: String?, inboundExternalID: String?, target: SendTarget,
        agent: (id: AgentID, settings: AgentSettings)?, providers: [ProviderID: ProviderEntry], history: [Turn], answered: Bool,
        privacy: PrivacyContext, providerRegions: [ProviderID: String], prices: PriceBook
    ) {
        self.inboundID = inboundID
        self.inboundText = inboundText
        self.inboundExternalID = inboundExternalID
        self.target = target
        self.agent = agent
        self.providers = providers
        self.history = history
        self.answered = answered
        self.privacy = privacy
        self.providerRegions = providerRegions
        self.prices = prices
    }
}

/// Where a message goes: its conversation's chat on its channel, with what the channel's
/// connector needs to send.
public struct SendTarget: Sendable {
    public var conversationID: ConversationID
    public var channelID: ChannelID
    public var contactID: ContactID
    public var chatExternalID: String
    public var mode: Conversation.Mode
    public var channelKind: String
    /// Not deleted and enabled.
    public var channelLive: Bool
    /// `nil` when the channel is deleted.
    public var sealedCredentials: [UInt8]?
    /// The contact's id on the channel's platform, for platforms that carry it.
    public var contactExternalID: String?
    /// The conversation's title (a mail thread's subject).
    public var chatTitle: String?
    /// The platform time of the contact's last inbound message: the messaging window runs
    /// from it (`nil`: the contact never wrote, as in a conversation the business started).
    public var lastInboundAt: Date?

    public init(
        conversationID: ConversationID, channelID: ChannelID, contactID: ContactID, chatExternalID: String, mode: Conversation.Mode,
        channelKind: String, channelLive: Bool, sealedCredentials: [UInt8]?, contactExternalID: String? = nil, chatTitle: String? = nil,
        lastInboundAt: Date? = nil
    ) {
        self.lastInboundAt = lastInboundAt
        self.chatTitle = chatTitle
        self.conversationID = conversationID
        self.channelID = channelID
        self.contactID = contactID
        self.chatExternalID = chatExternalID
        self.mode = mode
        self.channelKind = channelKind
        self.channelLive = channelLive
        self.sealedCredentials = sealedCredentials
        self.contactExternalID = contactExternalID
    }
}

/// What the sender reads before it delivers a stored outbound message.
public struct SendContext: Sendable {
    public var messageID: MessageID
    public var text: String?
    /// `nil` until a send was recorded.
    public var deliveryStatus: DeliveryStatus?
    public var aiGenerated: Bool
    public var inReplyTo: MessageID?
    public var target: SendTarget
    /// Whether the conversation's contact is restricted: nothing is sent to it.
    public var contactRestricted: Bool
    /// The platform's id of the message this one answers: the one in `inReplyTo`, else the
    /// conversation's latest inbound message (a mail's `In-Reply-To`).
    public var replyToExternalID: String?
    /// The platform tag a person's message goes out with (`HUMAN_AGENT`).
    public var tag: String?
    /// The approved template sent in place of free text.
    public var template: SendTemplate?

    public init(
        messageID: MessageID, text: String?, deliveryStatus: DeliveryStatus?, aiGenerated: Bool, inReplyTo: MessageID?,
        target: SendTarget, contactRestricted: Bool = false, replyToExternalID: String? = nil, tag: String? = nil,
        template: SendTemplate? = nil
    ) {
        self.tag = tag
        self.template = template
        self.replyToExternalID = replyToExternalID
        self.contactRestricted = contactRestricted
        self.messageID = messageID
        self.text = text
        self.deliveryStatus = deliveryStatus
        self.aiGenerated = aiGenerated
        self.inReplyTo = inReplyTo
        self.target = target
    }
}

/// One call made to a model provider while answering, for the `model_calls` record.
public struct ModelCallRecord: Sendable, Hashable {
    public var providerID: ProviderID?
    public var providerKind: String?
    public var model: String
    public var attempt: Int
    public var errorCode: String?
    public var errorMessage: String?
    public var usage: TokenCounts

    public init(
        providerID: ProviderID?, providerKind: String?, model: String, attempt: Int, errorCode: String?, errorMessage: String?,
        usage: TokenCounts
    ) {
        self.providerID = providerID
        self.providerKind = providerKind
        self.model = model
        self.attempt = attempt
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.usage = usage
    }
}

/// How a reply job ends without an answer: `done` (skipped, handed off), `failed`, or
/// `queued` again at `runAfter`; the calls made, the inbound message's reply status and
/// error, and the hand-off to a person when `handoffReason` is set. With the same write
/// the ledger takes what the calls cost (`capture`) or releases the hold.
public struct ReplySettlement: Sendable {
    public var replyStatus: ReplyStatus?
    public var error: String?
    public var handoffReason: HandoffReason?
    public var calls: [ModelCallRecord]
    public var jobStatus: JobStatus
    public var runAfter: Date?
    public var capture: LedgerOperation?
    public var holdID: UUID?

    public init(
        replyStatus: ReplyStatus?, error: String? = nil, handoffReason: HandoffReason? = nil, calls: [ModelCallRecord] = [],
        jobStatus: JobStatus = .done, runAfter: Date? = nil, capture: LedgerOperation? = nil, holdID: UUID? = nil
    ) {
        self.replyStatus = replyStatus
        self.error = error
        self.handoffReason = handoffReason
        self.calls = calls
        self.jobStatus = jobStatus
        self.runAfter = runAfter
        self.capture = capture
        self.holdID = holdID
    }
}

/// An answer to store: its text, who made it with what usage, the calls made, and the
/// ledger's capture of its cost (or the release of its hold when another attempt's answer
/// already stands). `replyStatus` other than `answered` marks the inbound message (an
/// out-of-credits reply).
public struct StoredAnswer: Sendable {
    public var text: String
    public var providerID: ProviderID?
    public var model: String?
    public var usage: TokenCounts
    public var calls: [ModelCallRecord]
    public var capture: LedgerOperation?
    public var holdID: UUID?
    public var replyStatus: ReplyStatus

    public init(
        text: String, providerID: ProviderID?, model: String?, usage: TokenCounts, calls: [ModelCallRecord],
        capture: LedgerOperation? = nil, holdID: UUID? = nil, replyStatus: ReplyStatus = .answered
    ) {
        self.text = text
        self.providerID = providerID
        self.model = model
        self.usage = usage
        self.calls = calls
        self.capture = capture
        self.holdID = holdID
        self.replyStatus = replyStatus
    }
}

/// A send's outcome, recorded with its job: sent (the sent-marker), requeued for
/// `retryAt`, or failed for good when `retryAt` is `nil`.
public struct SendOutcome: Sendable {
    public var sent: Bool
    public var externalID: String?
    public var error: String?
    public var retryAt: Date?
    public var time: Date
    /// Why it failed, as a state: `reengagement_required`, `undeliverable`,
    /// `rate_limited`, `credentials_rejected` (the channel then needs new credentials), …
    public var errorCode: String?

    public init(sent: Bool, externalID: String? = nil, error: String? = nil, retryAt: Date? = nil, at time: Date, errorCode: String? = nil) {
        self.errorCode = errorCode
        self.sent = sent
        self.externalID = externalID
        self.error = error
        self.retryAt = retryAt
        self.time = time
    }
}

/// What a job's worker reads first (its reply or send context, in the store's own
/// encoding), when it was read with the claim: `read(nil)` when its message is gone.
public enum JobDocument: Sendable {
    case unread
    case read(String?)
}

/// A claimed job with what its worker reads first.
public typealias TakenJob = (job: ClaimedJob, document: JobDocument)

/// What one claim did: the jobs it took, each with what its worker reads first, and the
/// jobs it found out of attempts and buried (`dead`; their messages say so).
public struct JobClaim: Sendable {
    public var taken: [TakenJob]
    public var dead: [ClaimedJob]

    public init(taken: [TakenJob], dead: [ClaimedJob]) {
        self.taken = taken
        self.dead = dead
    }
}

/// A delivery to store: its channel, the raw payload kept with it, and its events.
public struct IngestDelivery: Sendable {
    public var route: ChannelRoute
    public var payload: String
    public var events: [IngestEvent]
    /// A pulled channel's cursor after these events, committed with them while `leaseOwner`
    /// holds the channel's lease: a crash before the commit fetches them again, never skips.
    public var cursor: String?
    public var leaseOwner: String?

    public init(route: ChannelRoute, payload: String, events: [IngestEvent], cursor: String? = nil, leaseOwner: String? = nil) {
        self.route = route
        self.payload = payload
        self.events = events
        self.cursor = cursor
        self.leaseOwner = leaseOwner
    }
}

/// How the ingest takes the new messages' reply jobs for free workers, in the write that
/// stores them: at most `limit`, under `worker`'s lease from `now`.
public struct JobTaking: Sendable {
    public var limit: Int
    public var now: Date
    public var lease: Duration
    public var worker: String

    public init(limit: Int, now: Date, lease: Duration, worker: String) {
        self.limit = limit
        self.now = now
        self.lease = lease
        self.worker = worker
    }
}

/// What a group commit stored, and the reply jobs it took for the caller's workers.
public struct Ingested: Sendable {
    /// Each delivery's results, in order.
    public var results: [[IngestResult]]
    /// Reply jobs taken under `JobTaking`'s lease, each with its context: the caller runs
    /// them, or leaves them to their lease.
    public var taken: [TakenJob]

    public init(results: [[IngestResult]], taken: [TakenJob]) {
        self.results = results
        self.taken = taken
    }
}

/// A worker tried to finish a job that a later attempt has taken over (its lease ran
/// out): what it wrote is rolled back, and the later attempt's work stands. PostgreSQL
/// says so with SQLSTATE `SBL01` (function `finish_job`).
public struct JobLeaseLost: Error, Sendable {
    public static let sqlState = "SBL01"
    public init() {}
}

/// A platform-approved template sent in place of free text (WhatsApp), as stored with its
/// message: its name, language and the body's parameters in order.
public struct SendTemplate: Sendable, Hashable, Codable {
    public var name: String
    public var language: String
    public var parameters: [String]

    public init(name: String, language: String, parameters: [String] = []) {
        self.name = name
        self.language = language
        self.parameters = parameters
    }
}
