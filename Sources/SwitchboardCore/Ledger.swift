public import Foundation

/// A tenant's credit account: the balance (the sum of its ledger entries) and the part
/// of it held for provider calls in flight.
public struct CreditAccount: Sendable, Hashable {
    public var balance: Credits
    public var held: Credits
    public var lowBalanceThreshold: Credits
    /// When the balance went below the threshold; `nil` while it is not below.
    public var lowBalanceSince: Date?

    public init(balance: Credits, held: Credits, lowBalanceThreshold: Credits = .zero, lowBalanceSince: Date? = nil) {
        self.balance = balance
        self.held = held
        self.lowBalanceThreshold = lowBalanceThreshold
        self.lowBalanceSince = lowBalanceSince
    }

    /// What a new hold or charge may take.
    public var available: Credits { Credits(micros: balance.micros - held.micros) }
    public var isLow: Bool { lowBalanceSince != nil }
}

/// One line of the append-only ledger.
public struct LedgerEntry: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case grant, trial, topUp = "top_up", hold, capture, release, refund, expiry, adjustment
    }

    public var id: UUID
    public var sequence: Int64
    public var kind: Kind
    /// The change to the balance (negative for captures and expiries).
    public var amount: Credits
    /// The change to the held amount.
    public var heldDelta: Credits
    public var balanceAfter: Credits
    public var heldAfter: Credits
    public var reason: String
    public var holdID: UUID?
    public var referenceKind: String?
    public var referenceID: String?
    public var agentID: AgentID?
    public var channelID: ChannelID?
    public var messageID: MessageID?
    public var providerKind: String?
    public var model: String?
    public var tokens: TokenCounts?
    public var uncollected: Credits
    public var expiresAt: Date?
    public var createdAt: Date

    public init(
        id: UUID, sequence: Int64, kind: Kind, amount: Credits, heldDelta: Credits, balanceAfter: Credits, heldAfter: Credits,
        reason: String, holdID: UUID? = nil, referenceKind: String? = nil, referenceID: String? = nil, agentID: AgentID? = nil,
        channelID: ChannelID? = nil, messageID: MessageID? = nil, providerKind: String? = nil, model: String? = nil,
        tokens: TokenCounts? = nil, uncollected: Credits = .zero, expiresAt: Date? = nil, createdAt: Date
    ) {
        self.id = id
        self.sequence = sequence
        self.kind = kind
        self.amount = amount
        self.heldDelta = heldDelta
        self.balanceAfter = balanceAfter
        self.heldAfter = heldAfter
        self.reason = reason
        self.holdID = holdID
        self.referenceKind = referenceKind
        self.referenceID = referenceID
        self.agentID = agentID
        self.channelID = channelID
        self.messageID = messageID
        self.providerKind = providerKind
        self.model = model
        self.tokens = tokens
        self.uncollected = uncollected
        self.expiresAt = expiresAt
        self.createdAt = createdAt
    }
}

/// What a charge, hold, capture or usage line is for: the ledger keeps it with the entry.
public struct LedgerReference: Sendable, Hashable {
    public var kind: String?
    public var id: String?
    public var agentID: AgentID?
    public var channelID: ChannelID?
    public var messageID: MessageID?
    public var providerKind: ProviderKind?
    public var model: String?
    public var tokens: TokenCounts?

    public init(
        kind: String? = nil, id: String? = nil, agentID: AgentID? = nil, channelID: ChannelID? = nil, messageID: MessageID? = nil,
        providerKind: ProviderKind? = nil, model: String? = nil, tokens: TokenCounts? = nil
    ) {
        self.kind = kind
        self.id = id
        self.agentID = agentID
        self.channelID = channelID
        self.messageID = messageID
        self.providerKind = providerKind
        self.model = model
        self.tokens = tokens
    }
}

/// One change asked of a tenant's account.
public enum LedgerOperation: Sendable, Hashable {
    /// Debit now; refused when the available balance is short. A key charged once answers
    /// `duplicate` ever after; a refused key may be charged by a later try.
    case charge(key: String?, amount: Credits, reason: String, reference: LedgerReference = .init())
    /// Reserve a call's worst case; refused when short. One hold per `reference`.
    case hold(reference: String, amount: Credits, expiresAt: Date, reason: String, for: LedgerReference = .init())
    /// Take the real cost from a hold and release the rest.
    case capture(holdID: UUID, amount: Credits, reason: String, reference: LedgerReference = .init())
    case release(holdID: UUID, reason: String)
    /// Add credits: grant, trial, top-up, refund, or an adjustment (which may be negative).
    case credit(kind: LedgerEntry.Kind, amount: Credits, reason: String, key: String? = nil, expiresAt: Date? = nil)
}

/// What one operation did.
public struct LedgerResult: Sendable, Hashable {
    public enum Outcome: String, Sendable {
        case charged, refused, duplicate, held, captured, released, expired, credited
        case notFound = "not_found"
        /// The key was charged before with another amount: nothing was done.
        case keyReused = "key_reused"
    }

    public var outcome: Outcome
    public var entryID: UUID?
    public var holdID: UUID?
    /// For a capture: what was taken, and what the balance could not cover.
    public var captured: Credits?
    public var uncollected: Credits?
    public var balance: Credits
    public var held: Credits

    public init(
        outcome: Outcome, entryID: UUID? = nil, holdID: UUID? = nil, captured: Credits? = nil, uncollected: Credits? = nil,
        balance: Credits, held: Credits
    ) {
        self.outcome = outcome
        self.entryID = entryID
        self.holdID = holdID
        self.captured = captured
        self.uncollected = uncollected
        self.balance = balance
        self.held = held
    }
}
