import Foundation
import Logging
import SwitchboardCore

/// The message path's stores in memory: one actor serving every port of Core (`JobQueue`,
/// `ReplyStore`, `LedgerStore`, `IngestStore`, `ChannelDirectory`) with the rules the
/// PostgreSQL adapters keep — each event once, jobs fenced by their attempt, a reply's
/// answer stored once, holds and captures exact — so the pipeline's tests run without a
/// database, in milliseconds. The PostgreSQL tests prove the real adapters keep the same rules.
actor InMemoryStore: JobQueue, ReplyStore, LedgerStore, IngestStore, ChannelDirectory, PulledChannelDirectory {
    struct Job {
        var id: JobID
        var tenant: TenantID
        var kind: ClaimedJob.Kind
        var message: MessageID
        var status: JobStatus
        var attempts: Int
        var runAfter: Date
        var lockedUntil: Date?
        var worker: String?
        var lastError: String?
    }

    struct StoredMessage {
        var id: MessageID
        var tenant: TenantID
        var conversation: ConversationID
        var inbound: Bool
        var text: String?
        var attachments: [IngestEvent.Attachment] = []
        var externalID: String?
        var replyStatus: ReplyStatus?
        var error: String?
        var deliveryStatus: DeliveryStatus?
        var aiGenerated = false
        var inReplyTo: MessageID?
        var sentExternalID: String?
        var calls: [ModelCallRecord] = []
    }

    struct ConversationState {
        var id: ConversationID
        var tenant: TenantID
        var channel: ChannelID
        var contact: ContactID
        var chat: String
        var contactExternalID: String?
        var mode: Conversation.Mode = .ai
        var handoffReason: HandoffReason?
        var privacy = PrivacyContext()
    }

    struct ChannelState {
        var route: ChannelRoute
        var agent: (id: AgentID, settings: AgentSettings)?
    }

    struct Hold {
        var amount: Credits
        var expiresAt: Date
    }

    struct Account {
        var balance: Credits = .zero
        var holds: [UUID: Hold] = [:]
        var holdsByReference: [String: UUID] = [:]
        var charged: Set<String> = []
        /// Every applied operation's outcome, oldest first: the ledger's entries.
        var entries: [(outcome: LedgerResult.Outcome, amount: Credits)] = []
        var available: Credits { Credits(micros: balance.micros - holds.values.reduce(0) { $0 + $1.amount.micros }) }
        var held: Credits { Credits(micros: holds.values.reduce(0) { $0 + $1.amount.micros }) }
    }

    private(set) var jobs: [JobID: Job] = [:]
    private(set) var messages: [MessageID: StoredMessage] = [:]
    private var messageOrder: [MessageID] = []
    private(set) var conversations: [ConversationID: ConversationState] = [:]
    private var channels: [ChannelID: ChannelState] = [:]
    private var providers: [TenantID: [ProviderID: (entry: ReplyContext.ProviderEntry, region: String)]] = [:]
    private var prices: [TenantID: PriceBook] = [:]
    private(set) var accounts: [TenantID: Account] = [:]
    private var seenEvents: Set<String> = []
    private(set) var deadLetters: [(route: ChannelRoute, reason: String)] = []
    private var listeners: [UUID: @Sendable () -> Void] = [:]
    /// How many writes the ingest made (one per group commit).
    private(set) var ingestWrites = 0

    // MARK: Set-up, as the API would leave things

    func addChannel(_ route: ChannelRoute, agent: (id: AgentID, settings: AgentSettings)?) {
        channels[route.channelID] = ChannelState(route: route, agent: agent)
    }

    func addProvider(_ tenant: TenantID, _ entry: ReplyContext.ProviderEntry, region: String = "kz") {
        providers[tenant, default: [:]][entry.id] = (entry, region)
    }

    func setPrices(_ tenant: TenantID, _ book: PriceBook) { prices[tenant] = book }

    func credit(_ tenant: TenantID, _ amount: Credits) {
        accounts[tenant, default: Account()].balance = Credits(micros: (accounts[tenant]?.balance.micros ?? 0) + amount.micros)
    }

    func setPrivacy(_ conversation: ConversationID, _ privacy: PrivacyContext) { conversations[conversation]?.privacy = privacy }

    func account(_ tenant: TenantID) -> Account { accounts[tenant] ?? Account() }

    /// The conversation's messages, oldest first.
    func messages(in conversation: ConversationID) -> [StoredMessage] {
        messageOrder.compactMap { messages[$0] }.filter { $0.conversation == conversation }
    }

    func jobs(of kind: ClaimedJob.Kind) -> [Job] { jobs.values.filter { $0.kind == kind }.sorted { $0.runAfter < $1.runAfter } }

    // MARK: IngestStore

    func ingest(batch: [IngestDelivery], taking: JobTaking?, logger: Logger) async throws -> Ingested {
        ingestWrites += 1
        var ingested = Ingested(results: [], taken: [])
        var places = taking?.limit ?? 0
        for delivery in batch {
            guard channels[delivery.route.channelID] != nil else { throw InMemoryStoreError.unknownChannel }
            var results: [IngestResult] = []
            defer {
                if let cursor = delivery.cursor, leases[delivery.route.channelID]?.owner == delivery.leaseOwner {
                    cursors[delivery.route.channelID] = cursor
                }
            }
            for event in delivery.events {
                let key = "\(delivery.route.channelID)|\(event.eventID)"
                guard seenEvents.insert(key).inserted else {
                    results.append(IngestResult(eventID: event.eventID, created: false, messageID: nil))
                    continue
                }
                guard event.kind == .message, let sender = event.sender else {
                    results.append(IngestResult(eventID: event.eventID, created: true, messageID: nil))
                    continue
                }
                let conversation = conversation(for: delivery.route, chat: event.chat?.externalID ?? sender.externalID, sender: sender)
                let message = StoredMessage(
                    id: MessageID(), tenant: delivery.route.tenantID, conversation: conversation.id, inbound: true, text: event.text,
                    attachments: event.attachments, externalID: event.messageID
                )
                append(message)
                results.append(IngestResult(eventID: event.eventID, created: true, messageID: message.id))
                guard channels[delivery.route.channelID]?.agent != nil, conversation.mode == .ai else { continue }
                var job = Job(
                    id: JobID(), tenant: delivery.route.tenantID, kind: .reply, message: message.id, status: .queued, attempts: 0,
                    runAfter: taking?.now ?? Date()
                )
                if let taking, places > 0 {
                    places -= 1
                    job.status = .running
                    job.attempts = 1
                    job.lockedUntil = taking.now.addingTimeInterval(taking.lease.timeInterval)
                    job.worker = taking.worker
                    ingested.taken.append((ClaimedJob(id: job.id, tenantID: job.tenant, kind: .reply, messageID: message.id, attempt: 1), .unread))
                }
                jobs[job.id] = job
                if job.status == .queued { announce() }
            }
            ingested.results.append(results)
        }
        return ingested
    }

    func deadLetter(_ route: ChannelRoute, reason: String, contentType: String?, body: [UInt8], logger: Logger) async throws {
        deadLetters.append((route, reason))
    }

    private func conversation(for route: ChannelRoute, chat: String, sender: IngestEvent.Sender) -> ConversationState {
        if let found = conversations.values.first(where: { $0.channel == route.channelID && $0.chat == chat }) { return found }
        let created = ConversationState(
            id: ConversationID(), tenant: route.tenantID, channel: route.channelID, contact: ContactID(), chat: chat,
            contactExternalID: sender.externalID
        )
        conversations[created.id] = created
        return created
    }

    private func append(_ message: StoredMessage) {
        messages[message.id] = message
        messageOrder.append(message.id)
    }

    // MARK: ChannelDirectory

    func route(_ id: ChannelID, logger: Logger) async throws -> ChannelRoute? { channels[id]?.route }

    // MARK: PulledChannelDirectory

    private(set) var cursors: [ChannelID: String] = [:]
    private(set) var leases: [ChannelID: (owner: String, until: Date?)] = [:]
    private(set) var pullStates: [ChannelID: PullState] = [:]

    func pulledChannels(kinds: [String], logger: Logger) async throws -> [PulledChannel] {
        channels.values.filter { kinds.contains($0.route.kind) && $0.route.enabled }.map {
            let lease = leases[$0.route.channelID]
            return PulledChannel(route: $0.route, cursor: cursors[$0.route.channelID], owner: lease?.owner, leaseUntil: lease?.until)
        }
    }

    func claimPulledChannel(_ route: ChannelRoute, owner: String, now: Date, until: Date, logger: Logger) async throws -> PullClaim? {
        if let lease = leases[route.channelID], lease.owner != owner, (lease.until ?? .distantPast) >= now { return nil }
        leases[route.channelID] = (owner, until)
        return PullClaim(cursor: cursors[route.channelID])
    }

    func releasePulledChannel(_ route: ChannelRoute, owner: String, logger: Logger) async throws {
        if leases[route.channelID]?.owner == owner { leases[route.channelID]?.until = nil }
    }

    func savePullCursor(_ route: ChannelRoute, cursor: String, owner: String, logger: Logger) async throws {
        guard leases[route.channelID]?.owner == owner else { return }
        cursors[route.channelID] = cursor
    }

    func recordPullState(_ route: ChannelRoute, _ state: PullState, owner: String, logger: Logger) async throws {
        guard leases[route.channelID]?.owner == owner else { return }
        pullStates[route.channelID] = state
    }

    /// Another replica holding the channel's lease until `until`.
    func lease(_ channel: ChannelID, to owner: String, until: Date) { leases[channel] = (owner, until) }

    func disable(_ channel: ChannelID) { channels[channel]?.route.enabled = false }

    // MARK: JobQueue

    func claim(
        kinds: [ClaimedJob.Kind], limit: Int, now: Date, lease: Duration, worker: String, maximumAttempts: Int, logger: Logger
    ) async throws -> JobClaim {
        var claim = JobClaim(taken: [], dead: [])
        let ready = jobs.values.filter { job in
            guard kinds.contains(job.kind) else { return false }
            return (job.status == .queued && job.runAfter <= now) || (job.status == .running && (job.lockedUntil ?? now) <= now)
        }.sorted { $0.runAfter < $1.runAfter }
        for var job in ready where claim.taken.count < limit {
            if job.attempts >= maximumAttempts {
                job.status = .dead
                jobs[job.id] = job
                messages[job.message]?.replyStatus = job.kind == .reply ? .failed : messages[job.message]?.replyStatus
                if job.kind == .send { messages[job.message]?.deliveryStatus = .failed }
                claim.dead.append(ClaimedJob(id: job.id, tenantID: job.tenant, kind: job.kind, messageID: job.message, attempt: job.attempts))
                continue
            }
            job.status = .running
            job.attempts += 1
            job.lockedUntil = now.addingTimeInterval(lease.timeInterval)
            job.worker = worker
            jobs[job.id] = job
            claim.taken.append((ClaimedJob(id: job.id, tenantID: job.tenant, kind: job.kind, messageID: job.message, attempt: job.attempts), .unread))
        }
        return claim
    }

    func extendLease(_ job: ClaimedJob, until: Date, logger: Logger) async throws -> Bool {
        guard let stored = jobs[job.id], stored.attempts == job.attempt, stored.status == .running else { return false }
        jobs[job.id]?.lockedUntil = until
        return true
    }

    func fail(_ job: ClaimedJob, error: String, logger: Logger) async throws {
        try fence(job)
        jobs[job.id]?.status = .failed
        jobs[job.id]?.lastError = error
    }

    func waitForJobs(logger: Logger, ring: @escaping @Sendable () -> Void) async throws {
        let id = UUID()
        listeners[id] = ring
        ring()
        defer { listeners[id] = nil }
        // Until cancelled: a sleep that cancellation ends.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }

    private func announce() {
        for ring in listeners.values { ring() }
    }

    /// The attempt that took the job is still its latest: else `JobLeaseLost`, and nothing is written.
    private func fence(_ job: ClaimedJob) throws {
        guard let stored = jobs[job.id], stored.attempts == job.attempt, stored.status == .running else { throw JobLeaseLost() }
    }

    // MARK: ReplyStore

    func context(for job: ClaimedJob, _ document: JobDocument, logger: Logger) async throws -> ReplyContext? {
        guard let inbound = messages[job.messageID], let conversation = conversations[inbound.conversation],
              let channel = channels[conversation.channel]
        else { return nil }
        let tenantProviders = providers[job.tenantID] ?? [:]
        let history = messages(in: conversation.id).prefix { $0.id != inbound.id } + [inbound]
        return ReplyContext(
            inboundID: inbound.id, inboundText: inbound.text, inboundExternalID: inbound.externalID, target: target(conversation),
            agent: channel.agent, providers: tenantProviders.mapValues(\.entry),
            history: history.map { ReplyContext.Turn(inbound: $0.inbound, text: $0.text, attachmentKinds: $0.attachments.map(\.kind)) },
            answered: messages.values.contains { !$0.inbound && $0.inReplyTo == inbound.id }, privacy: conversation.privacy,
            providerRegions: tenantProviders.mapValues(\.region), prices: prices[job.tenantID] ?? PriceBook([])
        )
    }

    private func target(_ conversation: ConversationState) -> SendTarget {
        let channel = channels[conversation.channel]
        return SendTarget(
            conversationID: conversation.id, channelID: conversation.channel, contactID: conversation.contact,
            chatExternalID: conversation.chat, mode: conversation.mode, channelKind: channel?.route.kind ?? "",
            channelLive: channel?.route.enabled ?? false, sealedCredentials: channel?.route.sealedCredentials,
            contactExternalID: conversation.contactExternalID
        )
    }

    func storeAnswer(
        _ job: ClaimedJob, context: ReplyContext, _ answer: StoredAnswer, worker: String, now: Date, lease: Duration, logger: Logger
    ) async throws -> ClaimedJob? {
        try fence(job)
        if messages.values.contains(where: { !$0.inbound && $0.inReplyTo == context.inboundID }) {
            if let hold = answer.holdID { _ = applyOne(job.tenantID, .release(holdID: hold, reason: "another attempt answered")) }
            jobs[job.id]?.status = .done
            return nil
        }
        if let capture = answer.capture {
            _ = applyOne(job.tenantID, capture)
        } else if let hold = answer.holdID {
            _ = applyOne(job.tenantID, .release(holdID: hold, reason: "nothing to charge"))
        }
        let stored = StoredMessage(
            id: MessageID(), tenant: job.tenantID, conversation: context.target.conversationID, inbound: false, text: answer.text,
            deliveryStatus: .pending, aiGenerated: true, inReplyTo: context.inboundID, calls: answer.calls
        )
        append(stored)
        messages[context.inboundID]?.replyStatus = answer.replyStatus
        jobs[job.id]?.status = .done
        let send = Job(
            id: JobID(), tenant: job.tenantID, kind: .send, message: stored.id, status: .running, attempts: 1, runAfter: now,
            lockedUntil: now.addingTimeInterval(lease.timeInterval), worker: worker
        )
        jobs[send.id] = send
        return ClaimedJob(id: send.id, tenantID: job.tenantID, kind: .send, messageID: stored.id, attempt: 1)
    }

    func settle(_ job: ClaimedJob, context: ReplyContext, _ settlement: ReplySettlement, logger: Logger) async throws {
        try fence(job)
        if let capture = settlement.capture {
            _ = applyOne(job.tenantID, capture)
        } else if let hold = settlement.holdID {
            _ = applyOne(job.tenantID, .release(holdID: hold, reason: "no answer"))
        }
        messages[context.inboundID]?.calls += settlement.calls
        if let status = settlement.replyStatus { messages[context.inboundID]?.replyStatus = status }
        if let error = settlement.error { messages[context.inboundID]?.error = error }
        if let reason = settlement.handoffReason {
            conversations[context.target.conversationID]?.mode = .human
            conversations[context.target.conversationID]?.handoffReason = reason
        }
        jobs[job.id]?.status = settlement.jobStatus
        jobs[job.id]?.lastError = settlement.error
        if let runAfter = settlement.runAfter { jobs[job.id]?.runAfter = runAfter }
    }

    func inboundAttachments(_ job: ClaimedJob, logger: Logger) async throws -> [IngestEvent.Attachment] {
        messages[job.messageID]?.attachments ?? []
    }

    func storeTranscript(_ job: ClaimedJob, _ transcript: String, logger: Logger) async throws {
        if (messages[job.messageID]?.text ?? "").isEmpty { messages[job.messageID]?.text = transcript }
    }

    func noteUntranscribed(_ job: ClaimedJob, reason: String, logger: Logger) async throws {
        messages[job.messageID]?.error = reason
    }

    func sendContext(for job: ClaimedJob, _ document: JobDocument, logger: Logger) async throws -> SendContext? {
        guard let message = messages[job.messageID], let conversation = conversations[message.conversation] else { return nil }
        return SendContext(
            messageID: message.id, text: message.text, deliveryStatus: message.deliveryStatus, aiGenerated: message.aiGenerated,
            inReplyTo: message.inReplyTo, target: target(conversation), contactRestricted: conversation.privacy.restricted
        )
    }

    func recordSend(_ job: ClaimedJob, _ outcome: SendOutcome, logger: Logger) async throws {
        try fence(job)
        if outcome.sent {
            if !(messages[job.messageID]?.deliveryStatus?.isSent ?? false) { messages[job.messageID]?.deliveryStatus = .sent }
            if let external = outcome.externalID { messages[job.messageID]?.sentExternalID = external }
            jobs[job.id]?.status = .done
        } else if let retryAt = outcome.retryAt {
            jobs[job.id]?.status = .queued
            jobs[job.id]?.runAfter = retryAt
            jobs[job.id]?.lastError = outcome.error
        } else {
            jobs[job.id]?.status = .failed
            jobs[job.id]?.lastError = outcome.error
            messages[job.messageID]?.deliveryStatus = .failed
            messages[job.messageID]?.error = outcome.error
        }
    }

    // MARK: LedgerStore

    func apply(_ tenant: TenantID, _ operations: [LedgerOperation], logger: Logger) async throws -> [LedgerResult] {
        operations.map { applyOne(tenant, $0) }
    }

    func priceBook(_ tenant: TenantID, logger: Logger) async throws -> PriceBook { prices[tenant] ?? PriceBook([]) }

    private func applyOne(_ tenant: TenantID, _ operation: LedgerOperation) -> LedgerResult {
        var account = accounts[tenant] ?? Account()
        defer { accounts[tenant] = account }
        func result(_ outcome: LedgerResult.Outcome, _ amount: Credits = .zero, hold: UUID? = nil, captured: Credits? = nil) -> LedgerResult {
            account.entries.append((outcome, amount))
            return LedgerResult(outcome: outcome, holdID: hold, captured: captured, balance: account.balance, held: account.held)
        }
        switch operation {
        case .charge(let key, let amount, _, _):
            if let key, account.charged.contains(key) { return result(.duplicate) }
            guard account.available >= amount else { return result(.refused) }
            if let key { account.charged.insert(key) }
            account.balance = Credits(micros: account.balance.micros - amount.micros)
            return result(.charged, amount)
        case .hold(let reference, let amount, let expiresAt, _, _):
            if let id = account.holdsByReference[reference] { return result(.duplicate, hold: id) }
            guard account.available >= amount else { return result(.refused) }
            let id = UUID()
            account.holds[id] = Hold(amount: amount, expiresAt: expiresAt)
            account.holdsByReference[reference] = id
            return result(.held, amount, hold: id)
        case .capture(let holdID, let amount, _, _):
            guard account.holds.removeValue(forKey: holdID) != nil else { return result(.notFound) }
            account.balance = Credits(micros: account.balance.micros - amount.micros)
            return result(.captured, amount, hold: holdID, captured: amount)
        case .release(let holdID, _):
            guard account.holds.removeValue(forKey: holdID) != nil else { return result(.notFound) }
            return result(.released, hold: holdID)
        case .credit(_, let amount, _, _, _):
            account.balance = Credits(micros: account.balance.micros + amount.micros)
            return result(.credited, amount)
        }
    }
}

enum InMemoryStoreError: Error {
    /// A delivery for a channel that does not exist (PostgreSQL refuses it by foreign key).
    case unknownChannel
}
