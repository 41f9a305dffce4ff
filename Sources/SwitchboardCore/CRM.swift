public import Foundation

/// A person a tenant talks to, with every platform identity they are known by.
public struct Contact: Sendable, Hashable {
    public var id: ContactID
    public var displayName: String?
    public var phone: String?
    public var email: String?
    public var username: String?
    public var language: String?
    public var tags: [String]
    public var identities: [ContactIdentity]
    public var createdAt: Date
    public var updatedAt: Date
    public var lastSeenAt: Date?

    public init(
        id: ContactID, displayName: String?, phone: String?, email: String?, username: String?, language: String?,
        tags: [String], identities: [ContactIdentity], createdAt: Date, updatedAt: Date, lastSeenAt: Date?
    ) {
        self.id = id
        self.displayName = displayName
        self.phone = phone
        self.email = email
        self.username = username
        self.language = language
        self.tags = tags
        self.identities = identities
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastSeenAt = lastSeenAt
    }
}

/// How a contact is known on one kind of channel.
public struct ContactIdentity: Sendable, Hashable {
    public var channelKind: String
    public var externalID: String
    public var createdAt: Date

    public init(channelKind: String, externalID: String, createdAt: Date) {
        self.channelKind = channelKind
        self.externalID = externalID
        self.createdAt = createdAt
    }
}

/// Changes to a contact (rectification); `nil` leaves a field, `.some(nil)` clears it.
public struct ContactChanges: Sendable {
    public var displayName: String??
    public var phone: String??
    public var email: String??
    public var language: String??
    public var tags: [String]?

    public init(displayName: String?? = nil, phone: String?? = nil, email: String?? = nil, language: String?? = nil, tags: [String]? = nil) {
        self.displayName = displayName
        self.phone = phone
        self.email = email
        self.language = language
        self.tags = tags
    }
}

/// One chat of one channel with a contact (or a group), open or closed.
public struct Conversation: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable { case open, closed }
    /// Who answers: the agent, or a person after a handoff.
    public enum Mode: String, Sendable, Hashable, CaseIterable { case ai, human }

    public var id: ConversationID
    public var channelID: ChannelID
    public var contactID: ContactID
    public var chatExternalID: String
    public var chatKind: String
    public var title: String?
    public var status: Status
    public var createdAt: Date
    public var lastMessageAt: Date
    public var closedAt: Date?
    public var mode: Mode
    /// Why the conversation went to a person: `keyword`, `api`, `no_answer`, `provider_error`, `person_replied`.
    public var handoffReason: String?
    public var handoffAt: Date?
    /// The person of the tenant who works it, if any.
    public var assigneeUserID: UserID?

    public init(
        id: ConversationID, channelID: ChannelID, contactID: ContactID, chatExternalID: String, chatKind: String,
        title: String?, status: Status, createdAt: Date, lastMessageAt: Date, closedAt: Date?, mode: Mode = .ai,
        handoffReason: String? = nil, handoffAt: Date? = nil, assigneeUserID: UserID? = nil
    ) {
        self.assigneeUserID = assigneeUserID
        self.mode = mode
        self.handoffReason = handoffReason
        self.handoffAt = handoffAt
        self.id = id
        self.channelID = channelID
        self.contactID = contactID
        self.chatExternalID = chatExternalID
        self.chatKind = chatKind
        self.title = title
        self.status = status
        self.createdAt = createdAt
        self.lastMessageAt = lastMessageAt
        self.closedAt = closedAt
    }
}

/// Which conversations to list.
public struct ConversationFilter: Sendable {
    public var status: Conversation.Status?
    public var channelID: ChannelID?
    public var contactID: ContactID?
    /// `human`: the conversations handed to a person (a team's inbox).
    public var mode: Conversation.Mode?

    public init(
        status: Conversation.Status? = nil, channelID: ChannelID? = nil, contactID: ContactID? = nil, mode: Conversation.Mode? = nil
    ) {
        self.mode = mode
        self.status = status
        self.channelID = channelID
        self.contactID = contactID
    }
}

/// A stored message, inbound or outbound.
public struct Message: Sendable, Hashable {
    public var id: MessageID
    public var conversationID: ConversationID
    public var contactID: ContactID?
    public var direction: String
    public var externalID: String?
    public var text: String?
    public var attachments: [IngestEvent.Attachment]
    public var aiGenerated: Bool
    public var deliveryStatus: DeliveryStatus?
    public var sentAt: Date?
    public var createdAt: Date
    public var editedAt: Date?
    public var deliveryError: String?
    /// On an answer: the inbound message it answers, and who made it.
    public var inReplyTo: MessageID?
    public var agentID: AgentID?
    public var providerID: ProviderID?
    public var model: String?
    public var usage: TokenCounts?
    /// On an inbound message: what became of its reply (`nil` while it waits).
    public var replyStatus: ReplyStatus?
    public var replyError: String?
    /// When the contact withdrew it (Meta's unsend).
    public var deletedAt: Date?
    /// Why its send failed for good, as a state (`reengagement_required`, …).
    public var deliveryErrorCode: String?
    /// The platform tag it was sent with (`HUMAN_AGENT`).
    public var sendTag: String?
    /// The approved template it was sent as.
    public var template: SendTemplate?
    /// On an inbound message: the tools its agent called while answering it, in order.
    public var toolCalls: [MessageToolCall] = []

    public init(
        id: MessageID, conversationID: ConversationID, contactID: ContactID?, direction: String, externalID: String?,
        text: String?, attachments: [IngestEvent.Attachment], aiGenerated: Bool, deliveryStatus: DeliveryStatus?, sentAt: Date?,
        createdAt: Date, editedAt: Date?
    ) {
        self.id = id
        self.conversationID = conversationID
        self.contactID = contactID
        self.direction = direction
        self.externalID = externalID
        self.text = text
        self.attachments = attachments
        self.aiGenerated = aiGenerated
        self.deliveryStatus = deliveryStatus
        self.sentAt = sentAt
        self.createdAt = createdAt
        self.editedAt = editedAt
    }
}

/// Tokens of one model call in four disjoint buckets (each provider's own counts are
/// normalized to these), and how long it took.
public struct TokenCounts: Sendable, Hashable {
    public var input: Int
    public var cachedInput: Int
    public var output: Int
    public var reasoning: Int
    public var latencyMilliseconds: Int

    public init(input: Int, cachedInput: Int, output: Int, reasoning: Int, latencyMilliseconds: Int) {
        self.input = input
        self.cachedInput = cachedInput
        self.output = output
        self.reasoning = reasoning
        self.latencyMilliseconds = latencyMilliseconds
    }
}

/// A note a tenant's people keep on a contact.
public struct Note: Sendable, Hashable {
    public var id: NoteID
    public var contactID: ContactID
    public var body: String
    public var createdAt: Date

    public init(id: NoteID, contactID: ContactID, body: String, createdAt: Date) {
        self.id = id
        self.contactID = contactID
        self.body = body
        self.createdAt = createdAt
    }
}

/// A deal with a contact: an amount in minor units of a currency, at a stage.
public struct Deal: Sendable, Hashable {
    public var id: DealID
    public var contactID: ContactID
    public var title: String
    public var stage: String
    public var amountMinor: Int64?
    public var currency: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: DealID, contactID: ContactID, title: String, stage: String, amountMinor: Int64?, currency: String?,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.contactID = contactID
        self.title = title
        self.stage = stage
        self.amountMinor = amountMinor
        self.currency = currency
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Changes to a deal; `nil` leaves a field as it is.
public struct DealChanges: Sendable {
    public var title: String?
    public var stage: String?
    /// Amount and currency change together: `.some(nil)` clears both.
    public var amount: (minor: Int64, currency: String)??
    public var contactID: ContactID?

    public init(title: String? = nil, stage: String? = nil, amount: (minor: Int64, currency: String)?? = nil, contactID: ContactID? = nil) {
        self.title = title
        self.stage = stage
        self.amount = amount
        self.contactID = contactID
    }
}
