public import Foundation
public import Logging

// The ports of the message path: what the pipeline (`SwitchboardPipeline`) needs from
// storage, and nothing of how it is kept. PostgreSQL's stores conform in production; the
// pipeline's own tests run on in-memory adapters. Every method takes the caller's logger,
// so the request or job id reaches the store's log lines.

/// The outbox: jobs taken under a lease, fenced by their attempt.
public protocol JobQueue: Sendable {
    /// Takes up to `limit` ready jobs of `kinds` (queued ones whose time has come, running
    /// ones whose lease ran out with attempts left) under `worker`'s lease, each with what
    /// its worker reads first; jobs out of attempts are buried and reported as `dead`.
    func claim(
        kinds: [ClaimedJob.Kind], limit: Int, now: Date, lease: Duration, worker: String, maximumAttempts: Int, logger: Logger
    ) async throws -> JobClaim
    /// Extends the lease of a job still being worked on; false when it was taken over.
    func extendLease(_ job: ClaimedJob, until: Date, logger: Logger) async throws -> Bool
    /// Ends a job that cannot be done (its message is gone), with the reason; throws
    /// `JobLeaseLost` when a later attempt took it over.
    func fail(_ job: ClaimedJob, error: String, logger: Logger) async throws
    /// Waits for new jobs, calling `ring` once listening and on every job queued, until the
    /// task is cancelled (returns) or the wait is lost (throws; the caller polls and waits
    /// again).
    func waitForJobs(logger: Logger, ring: @escaping @Sendable () -> Void) async throws
}

/// The reply and send workers' reads and writes. Each write ends its job, fenced by the
/// attempt that took it (`JobLeaseLost` otherwise), with everything it records.
public protocol ReplyStore: Sendable {
    /// The reply's context: decoded from `document` when it was read with the claim, else
    /// read now; `nil` when the message is gone.
    func context(for job: ClaimedJob, _ document: JobDocument, logger: Logger) async throws -> ReplyContext?
    /// Stores the agent's answer with its usage and calls, marks the inbound message
    /// answered and finishes the reply job, in one write; answers the send job it created,
    /// already taken by `worker` under `lease` from `now`, or `nil` when another attempt's
    /// answer already stands (its hold is then released).
    func storeAnswer(
        _ job: ClaimedJob, context: ReplyContext, _ answer: StoredAnswer, worker: String, now: Date, lease: Duration, logger: Logger
    ) async throws -> ClaimedJob?
    /// Ends a reply job without an answer.
    func settle(_ job: ClaimedJob, context: ReplyContext, _ settlement: ReplySettlement, logger: Logger) async throws
    /// The inbound message's attachments (kinds and the platform's file references).
    func inboundAttachments(_ job: ClaimedJob, logger: Logger) async throws -> [IngestEvent.Attachment]
    /// Keeps a voice note's transcript as the message's text (the audio is never stored).
    func storeTranscript(_ job: ClaimedJob, _ transcript: String, logger: Logger) async throws
    /// Says on the inbound message's first voice or audio attachment why it was not
    /// transcribed (a text of ours, never the platform's or a provider's).
    func noteUntranscribed(_ job: ClaimedJob, reason: String, logger: Logger) async throws
    /// The send's context; `nil` when the message is gone.
    func sendContext(for job: ClaimedJob, _ document: JobDocument, logger: Logger) async throws -> SendContext?
    /// Records a send's outcome with its job.
    func recordSend(_ job: ClaimedJob, _ outcome: SendOutcome, logger: Logger) async throws
}

/// What the agent loop's tools act on, scoped to the tenant.
public protocol AgentToolStore: Sendable {
    /// Records the call on its inbound message and does its action, in one transaction, once
    /// per (inbound message, round, call id): a call already recorded is not done again, and
    /// answers its stored result. A failed action is recorded as an error result.
    func perform(_ tenant: TenantID, _ call: AgentToolCall, logger: Logger) async throws -> AgentToolOutcome
    /// Records the model calls of a round that ended in tool calls (the round that ends the
    /// reply records its calls with the answer or settlement).
    func recordCalls(_ tenant: TenantID, inbound: MessageID, agent: AgentID, _ calls: [ModelCallRecord], logger: Logger) async throws
    /// Closes the conversation (the agent's `close_conversation`).
    func closeConversation(_ tenant: TenantID, _ conversation: ConversationID, logger: Logger) async throws
}

/// The credit ledger: operations applied in order under the tenant's account, each
/// answered with what it did.
public protocol LedgerStore: Sendable {
    func apply(_ tenant: TenantID, _ operations: [LedgerOperation], logger: Logger) async throws -> [LedgerResult]
    /// The tenant's prices: its own overrides over the platform's.
    func priceBook(_ tenant: TenantID, logger: Logger) async throws -> PriceBook
}

/// Where deliveries are stored.
public protocol IngestStore: Sendable {
    /// Stores the deliveries in one write (group commit), each event once (a duplicate
    /// changes nothing), and with `taking` takes up to its limit of the new messages'
    /// reply jobs in that same write.
    func ingest(batch: [IngestDelivery], taking: JobTaking?, logger: Logger) async throws -> Ingested
    /// Keeps a verified delivery that could not be parsed, with the reason.
    func deadLetter(_ route: ChannelRoute, reason: String, contentType: String?, body: [UInt8], logger: Logger) async throws
}

/// The channels as the ingest finds them: by id, across tenants.
public protocol ChannelDirectory: Sendable {
    /// The channel's tenant, kind, state and sealed credentials; `nil` when there is none.
    func route(_ id: ChannelID, logger: Logger) async throws -> ChannelRoute?
}

/// The channels whose messages the server fetches, who fetches each, and where each one's
/// fetching stands. One replica at a time holds a channel's lease (`owner`), renewed while
/// its loop runs; a replica that stops renewing hands the channel over when it runs out.
public protocol PulledChannelDirectory: Sendable {
    /// Every live (not deleted, enabled) channel of `kinds`, across tenants, with its cursor
    /// and lease.
    func pulledChannels(kinds: [String], logger: Logger) async throws -> [PulledChannel]
    /// Takes or renews the channel's lease for `owner` until `until`, when nobody else holds
    /// one that runs past `now`. Answers the channel's committed cursor when the lease is
    /// `owner`'s, `nil` when another replica holds it.
    func claimPulledChannel(_ route: ChannelRoute, owner: String, now: Date, until: Date, logger: Logger) async throws -> PullClaim?
    /// Gives the lease up (a loop that stops), so another replica may take it at once.
    func releasePulledChannel(_ route: ChannelRoute, owner: String, logger: Logger) async throws
    /// Keeps where the channel's next fetch starts, while `owner` holds its lease; for a
    /// fetch that brought nothing to store (otherwise the cursor moves with the ingest).
    func savePullCursor(_ route: ChannelRoute, cursor: String, owner: String, logger: Logger) async throws
    /// Shows how the channel's fetching goes (the channel's API answer carries it).
    func recordPullState(_ route: ChannelRoute, _ state: PullState, owner: String, logger: Logger) async throws
}


/// A contact whose profile is to be looked up through the channel it wrote on (Instagram's
/// and Messenger's senders arrive as bare ids).
public struct DueProfile: Sendable {
    public var tenantID: TenantID
    public var contactID: ContactID
    public var channelID: ChannelID
    public var channelKind: String
    public var sealedCredentials: [UInt8]
    /// The contact's id on the channel's platform.
    public var externalID: String?
    /// Look-ups tried before this one.
    public var attempts: Int

    public init(
        tenantID: TenantID, contactID: ContactID, channelID: ChannelID, channelKind: String, sealedCredentials: [UInt8],
        externalID: String?, attempts: Int
    ) {
        self.tenantID = tenantID
        self.contactID = contactID
        self.channelID = channelID
        self.channelKind = channelKind
        self.sealedCredentials = sealedCredentials
        self.externalID = externalID
        self.attempts = attempts
    }
}

/// The contacts whose profiles are looked up once, and what the look-ups found.
public protocol ProfileStore: Sendable {
    /// At most `limit` contacts whose look-up is due at `now`, across tenants, each claimed
    /// for `lease` against other replicas.
    func dueProfiles(now: Date, limit: Int, lease: Duration, logger: Logger) async throws -> [DueProfile]
    /// Keeps what the platform told (blank fields only: a name a person typed stays), and
    /// ends the look-ups; or, with `retryAt`, counts a failed one and tries again then.
    func recordProfile(_ due: DueProfile, name: String?, username: String?, retryAt: Date?, logger: Logger) async throws
}
