public import Foundation

/// The tenant's instructions to Switchboard as its processor (README, "Data protection").
public struct PrivacyPolicy: Sendable, Hashable {
    /// Conversations are deleted this many days after their last message; nil keeps them.
    public var conversationDays: Int?
    public var logDays: Int
    public var ledgerYears: Int
    /// Mask emails, phones, card numbers and IINs before any provider call.
    public var redactPII: Bool
    /// Provider regions data may go to; nil allows any.
    public var allowedRegions: [String]?
    /// The tenant's own region: the only one for a contact who withdrew cross-border consent.
    public var homeRegion: String
    /// A visible label added to every AI answer; nil adds none.
    public var aiLabel: String?
    /// Contacts outlive their conversations: retention deletes conversations only. Off
    /// (the default), a contact with no conversation or message left goes once its own
    /// last activity is `conversationDays` old, unless it has an open deal or is kept.
    public var keepContacts: Bool

    public init(
        conversationDays: Int? = nil, logDays: Int = 180, ledgerYears: Int = 5, redactPII: Bool = false,
        allowedRegions: [String]? = nil, homeRegion: String = "kz", aiLabel: String? = nil, keepContacts: Bool = false
    ) {
        self.conversationDays = conversationDays
        self.logDays = logDays
        self.ledgerYears = ledgerYears
        self.redactPII = redactPII
        self.allowedRegions = allowedRegions
        self.homeRegion = homeRegion
        self.aiLabel = aiLabel
        self.keepContacts = keepContacts
    }

    public static let standard = PrivacyPolicy()
}

/// What a contact agreed to, per purpose.
public enum ConsentPurpose: String, Sendable, CaseIterable, Codable {
    case aiProcessing = "ai_processing", marketing, crossBorder = "cross_border", voice
}

public struct Consent: Sendable, Hashable {
    public var id: UUID
    public var contactID: ContactID
    public var purpose: ConsentPurpose
    public var granted: Bool
    public var source: String
    public var recordedAt: Date

    public init(id: UUID, contactID: ContactID, purpose: ConsentPurpose, granted: Bool, source: String, recordedAt: Date) {
        self.id = id
        self.contactID = contactID
        self.purpose = purpose
        self.granted = granted
        self.source = source
        self.recordedAt = recordedAt
    }
}

/// What the workers must honour for one conversation's contact.
public struct PrivacyContext: Sendable, Hashable {
    public var restricted: Bool
    /// The consents in force; a purpose without any record is allowed.
    public var consents: [ConsentPurpose: Bool]
    public var policy: PrivacyPolicy

    public init(restricted: Bool = false, consents: [ConsentPurpose: Bool] = [:], policy: PrivacyPolicy = .standard) {
        self.restricted = restricted
        self.consents = consents
        self.policy = policy
    }

    public func allows(_ purpose: ConsentPurpose) -> Bool { consents[purpose] ?? true }

    /// Whether a provider in `region` may receive this contact's data: within the
    /// tenant's allowed regions, and only the home region without cross-border consent.
    public func mayReach(region: String) -> Bool {
        if let allowed = policy.allowedRegions, !allowed.contains(region) { return false }
        if !allows(.crossBorder), region != policy.homeRegion { return false }
        return true
    }
}

/// A data subject's request and when it was done.
public struct PrivacyRequest: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case access, rectification, restriction, unrestriction, erasure, consent
    }

    public var id: UUID
    public var kind: Kind
    public var contactID: ContactID
    public var requestedAt: Date
    public var completedAt: Date?

    public init(id: UUID, kind: Kind, contactID: ContactID, requestedAt: Date, completedAt: Date?) {
        self.id = id
        self.kind = kind
        self.contactID = contactID
        self.requestedAt = requestedAt
        self.completedAt = completedAt
    }
}
