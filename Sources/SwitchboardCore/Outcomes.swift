/// What became of an inbound message's reply (`messages.reply_status`): one home for the
/// values the workers write and the API reports.
public enum ReplyStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// The agent's answer is stored (and its send job queued).
    case answered
    /// No reply was due: no agent, a person answering, a restricted contact.
    case skipped
    /// The conversation went to a person (`HandoffReason` says why).
    case handedOff = "handed_off"
    /// No provider answered, for good.
    case failed
    /// The tenant's credits ran out; the contact got the out-of-credits answer.
    case outOfCredits = "out_of_credits"
}

/// Why the reply path handed a conversation to a person (`conversations.handoff_reason`).
public enum HandoffReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// The message asked for a person, by one of the agent's handoff keywords.
    case keyword
    /// The contact withdrew consent to AI processing.
    case consentWithdrawn = "consent_withdrawn"
    /// No provider of the chain may process the contact's data in its region.
    case regionPolicy = "region_policy"
    /// Every provider of the chain failed for good.
    case providerError = "provider_error"
    /// The model answered nothing usable, or asked for a person itself.
    case noAnswer = "no_answer"
    /// The tenant's credits ran out.
    case outOfCredits = "out_of_credits"
}

/// Where a job stands (`jobs.status`).
public enum JobStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting for its `run_after`.
    case queued
    /// Under a worker's lease.
    case running
    case done
    /// Ended without doing its work, with the reason.
    case failed
    /// Out of attempts: every attempt's worker stopped or ran past the deadline.
    case dead
}

/// How far an outbound message got (`messages.delivery_status`), in the order a platform's
/// status updates may only move forward: a later status never goes back to an earlier one,
/// and `failed` is final. The ingest's status update keeps the same order (`ingest.sql`).
public enum DeliveryStatus: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case pending
    case sent
    case delivered
    case read
    case failed

    /// The platform took the message: it is never sent again.
    public var isSent: Bool { self == .sent || self == .delivered || self == .read }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
